//! What one node asks of the node that holds a terminal or a run (answered by
//! `crate::remote`, carried by [`super::ask`]). Here, below the features, so that `terminals`
//! and `runs` can ask without depending on the module that answers them.

use app::{
    AppError, AppResult,
    types::{ProjectId, Role, RunId, TermId, UserId, UserInfo},
};
use serde::{Deserialize, Serialize};

use super::{Hub, View};

/// What one node asks another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    TermInput {
        project: ProjectId,
        user: UserId,
        role: Role,
        term: TermId,
        data: String,
    },
    TermAttach {
        project: ProjectId,
        view: View,
        term: TermId,
        cols: u16,
        rows: u16,
    },
    TermDetach {
        project: ProjectId,
        view: View,
        term: TermId,
    },
    TermClose {
        project: ProjectId,
        by: UserInfo,
        role: Role,
        term: TermId,
    },
    TermGrant {
        project: ProjectId,
        by: UserInfo,
        role: Role,
        term: TermId,
        user: UserId,
        on: bool,
    },
    /// The node's terminals of the project, with their scrollback.
    Terminals { project: ProjectId },
    RunStop {
        project: ProjectId,
        by: UserInfo,
        run: RunId,
        /// Answer once it has ended (a restart from another node).
        wait: bool,
    },
    RunStdin {
        project: ProjectId,
        by: UserInfo,
        run: RunId,
        line: String,
    },
    /// The node's runs of the project, with their output so far.
    Runs { project: ProjectId },
}

/// Asks the node with block `to`, and reads its answer as `T`.
pub async fn ask<T: serde::de::DeserializeOwned>(
    hub: &Hub,
    to: u64,
    request: Request,
) -> AppResult<T> {
    let request = serde_json::to_value(&request).map_err(|e| {
        tracing::error!(error = %e, "cannot write a request for another node");
        AppError::Internal
    })?;
    hub.asks().ask_for(to, request).await
}
