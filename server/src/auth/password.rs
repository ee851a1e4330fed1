//! Argon2id password hashing, run on the blocking pool: a hash takes tens of milliseconds of CPU
//! and 19 MiB of memory, and must not stall the async workers. [`Hasher`] bounds how many run
//! at once (finding 6: a burst of sign-ups or logins could otherwise take all the memory and
//! every core); the rest wait their turn for a few seconds, then are told the server is busy.

use std::time::Duration;

use crate::{
    error::{Result, ServerError},
    slots::Slots,
};
use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};

/// How long a password check waits for a free slot before the server says it is busy.
const QUEUE_WAIT: Duration = Duration::from_secs(10);

/// The slots for concurrent hashes, shared by sign-up, login and password changes.
#[derive(Clone, Debug)]
pub struct Hasher {
    slots: Slots,
}

impl Hasher {
    pub fn new(concurrent: usize) -> Self {
        Self {
            slots: Slots::new(
                concurrent,
                "password-hash-concurrency",
                QUEUE_WAIT,
                "The server is busy checking passwords; try again in a few seconds.",
            ),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let slot = self.slots.take().await?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await?
    }

    pub async fn hash(&self, password: String) -> Result<String> {
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| ServerError::Hash(e.to_string()))
        })
        .await
    }

    /// Verifies against `stored`, or against a fixed dummy hash when there is no such user, so
    /// the response time does not reveal which usernames exist.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool> {
        self.run(move || {
            let found = stored.is_some();
            let phc = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
            let parsed = PasswordHash::new(&phc).map_err(|e| ServerError::Hash(e.to_string()))?;
            let ok = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok(found && ok)
        })
        .await
    }
}

/// Argon2id hash of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$y9ht6nY1ey1D5eRVi7zEWQ8MXvEoM2pD5Hq0qC1F8eE";

/// A well-formed Argon2id hash of no password: random salt and output, so nothing verifies
/// against it (a deleted account's). Costs no hashing.
pub fn unusable() -> String {
    use base64::Engine;
    let mut output = [0u8; 32];
    argon2::password_hash::rand_core::RngCore::fill_bytes(&mut OsRng, &mut output);
    let salt = SaltString::generate(&mut OsRng);
    let output = base64::engine::general_purpose::STANDARD_NO_PAD.encode(output);
    format!("$argon2id$v=19$m=19456,t=2,p=1${}${output}", salt.as_str())
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let h = Hasher::new(2);
        let a = h.hash("correct horse battery".into()).await.expect("hash");
        let b = h.hash("correct horse battery".into()).await.expect("hash");
        assert_ne!(a, b, "salts differ");
        assert!(a.starts_with("$argon2id$"));
        assert!(
            h.verify("correct horse battery".into(), Some(a.clone()))
                .await
                .expect("verify")
        );
        assert!(!h.verify("wrong".into(), Some(a)).await.expect("verify"));
        assert!(!h.verify("anything".into(), None).await.expect("verify"));
        let nobody = unusable();
        assert!(PasswordHash::new(&nobody).is_ok(), "well formed: {nobody}");
        assert_ne!(nobody, unusable());
        for guess in ["", "anything", "correct horse battery"] {
            assert!(
                !h.verify(guess.into(), Some(nobody.clone()))
                    .await
                    .expect("verify")
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_the_cap_run_at_once() {
        let h = Hasher::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (h, running, most) = (h.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    h.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("joined").expect("ran");
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}
