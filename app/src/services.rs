//! The registry of server-side services (`Arc<dyn Accounts>`, `Arc<dyn FileService>`, …)
//! that server functions call. The binary fills it and provides it as Leptos context. Keyed by
//! type, so this module names no feature and every feature can use it without a module cycle.

use std::{
    any::{Any, TypeId, type_name},
    collections::HashMap,
    sync::Arc,
};

use leptos::prelude::use_context;

use crate::error::{AppError, AppResult};

#[derive(Clone, Default)]
pub struct Services {
    by_type: Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Services {
    /// Registers `service` as the implementation of `T` (a trait object type such as
    /// `dyn FileService`).
    #[must_use]
    pub fn with<T: ?Sized + Send + Sync + 'static>(mut self, service: Arc<T>) -> Self {
        Arc::make_mut(&mut self.by_type).insert(TypeId::of::<T>(), Arc::new(service));
        self
    }

    pub fn get<T: ?Sized + Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.by_type
            .get(&TypeId::of::<T>())?
            .downcast_ref::<Arc<T>>()
            .cloned()
    }
}

/// The service implementing `T` for this request; `Internal` (logged) when the binary did not
/// register one, which is a wiring bug rather than anything a caller did.
pub fn service<T: ?Sized + Send + Sync + 'static>() -> AppResult<Arc<T>> {
    let found = use_context::<Services>().and_then(|s| s.get::<T>());
    found.ok_or_else(|| {
        tracing::error!(
            service = type_name::<T>(),
            "service missing from the Leptos context"
        );
        AppError::Internal
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    trait Greeter: Send + Sync {
        fn hello(&self) -> &'static str;
    }
    struct En;
    impl Greeter for En {
        fn hello(&self) -> &'static str {
            "hello"
        }
    }

    #[test]
    fn finds_a_service_by_its_trait_type() {
        let services = Services::default().with::<dyn Greeter>(Arc::new(En));
        assert_eq!(
            services.get::<dyn Greeter>().map(|g| g.hello()),
            Some("hello")
        );
        assert!(services.get::<dyn Fn() + Send + Sync>().is_none());
    }
}
