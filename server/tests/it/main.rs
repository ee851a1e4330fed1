//! The server's integration tests, one binary: every suite starts the real server (in
//! process, or the release binary as a child) on a random port with a real SQLite file, and
//! on PostgreSQL when it answers. One binary links the server library once instead of once per
//! suite.

#[macro_use]
mod common;

mod assist;
mod audit;
mod auth;
mod chat;
mod cluster;
mod cluster_work;
mod console;
mod dashboard;
mod disk;
mod envs;
mod files;
mod history;
mod limits;
mod memory;
mod ops;
mod projects;
mod requests;
mod revoke;
mod runs;
mod shared_state;
mod store;
mod suggest;
mod terminals;
mod ws;
mod yjs;
