//! What several nodes (`--bus`) share through the database, on both backends: rate limits
//! (attempts counted on one node hold on the others, and concurrent attempts on two nodes are
//! counted one after the other, so two nodes allow exactly what one would), and a project's
//! tree lease (two nodes creating one name at once make one entry).

use std::{net::IpAddr, time::Duration};

use app::AppError;
use server::{
    auth::rate_limit::{LoginLimiter, PerHour},
    rate::{PerMinute, shared::SharedCounts},
};

use crate::common::{Backend, TestServer};

const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

/// Two nodes' limiters over one database: 3 free failures per account and address, then
/// delays.
async fn two_nodes(server: &TestServer) -> (LoginLimiter, LoginLimiter) {
    let node = || async {
        LoginLimiter::new(3, 100, 1_000, Duration::from_secs(900))
            .shared(SharedCounts::new(server.db().await))
    };
    (node().await, node().await)
}

async fn sign_in_failures_count_on_every_node(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (one, two) = two_nodes(&server).await;
    // Failures alternate between the nodes; the fourth attempt waits wherever it is tried.
    for node in [&one, &two, &one] {
        let attempt = node.start(IP, "Alice").await.expect("a free failure");
        node.end(attempt, false).await;
    }
    for node in [&one, &two] {
        match node.start(IP, "alice").await {
            Err(AppError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 1),
            other => panic!("the fourth attempt must wait: {other:?}"),
        }
    }
    // Another account from the same address is not slowed by alice's pair.
    assert!(two.start(IP, "bob").await.is_ok());
    server.finish().await;
}

async fn concurrent_attempts_on_two_nodes_are_counted_once_each(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (one, two) = two_nodes(&server).await;
    let tries = (0..10).map(|i| {
        let node = if i % 2 == 0 { &one } else { &two };
        node.start(IP, "carol")
    });
    let results = futures_util::future::join_all(tries).await;
    let passed = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(passed, 3, "exactly the free attempts pass: {results:?}");
    server.finish().await;
}

async fn a_success_refunds_on_every_node(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (one, two) = two_nodes(&server).await;
    for _ in 0..2 {
        let attempt = one.start(IP, "dan").await.expect("free");
        one.end(attempt, false).await;
    }
    let ok = two.start(IP, "dan").await.expect("the third is free");
    two.end(ok, true).await;
    // The pair starts over: three more free attempts, on either node.
    for node in [&one, &two, &one] {
        assert!(node.start(IP, "dan").await.is_ok());
    }
    assert!(two.start(IP, "dan").await.is_err());
    server.finish().await;
}

async fn allowances_are_shared(backend: Backend) {
    let server = TestServer::start(backend).await;
    let counts = SharedCounts::new(server.db().await);
    let one: PerMinute = PerMinute::shared(2, counts.clone(), "test-sends");
    let two: PerMinute = PerMinute::shared(2, SharedCounts::new(server.db().await), "test-sends");
    let ann = app::types::UserId(1);
    assert!(one.take_now(ann).await.is_ok());
    assert!(two.take_now(ann).await.is_ok());
    let wait = one
        .take_now(ann)
        .await
        .expect_err("two a minute, cluster-wide");
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(two.take_now(app::types::UserId(2)).await.is_ok());

    let signups = |counts| PerHour::new(1).shared(counts);
    let (s1, s2) = (signups(counts.clone()), signups(counts));
    assert!(s1.allow(IP).await.expect("counts"));
    assert!(
        !s2.allow(IP).await.expect("counts"),
        "one sign-up per hour, cluster-wide"
    );
    server.finish().await;
}

db_tests!(
    sign_in_failures_count_on_every_node,
    concurrent_attempts_on_two_nodes_are_counted_once_each,
    a_success_refunds_on_every_node,
    allowances_are_shared,
    one_name_per_folder_across_nodes
);

/// Two nodes' trees over one database (each with its own in-process lock, the project's lease
/// shared): creating one name at once in one folder makes one entry, and the other is told the
/// name is taken.
async fn one_name_per_folder_across_nodes(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.client();
    let uid = app::types::UserId(owner.signup("ivy").await);
    let project = app::types::ProjectId(owner.create_project("Two trees").await);
    let state = server.state();
    let node = || async {
        let db = server.db().await;
        server::files::Tree::new(db.clone(), state.editor.clone(), state.hub.clone())
            .shared(server::lease::Leases::new(db, Duration::from_secs(15)))
    };
    let (one, two) = (node().await, node().await);
    for i in 0..5 {
        let name = format!("same-{i}.rs");
        let kind = app::files::FileKind::File;
        let (a, b) = tokio::join!(
            one.create(project, uid, None, &name, kind, Some("x")),
            two.create(project, uid, None, &name, kind, Some("x"))
        );
        assert!(
            a.is_ok() != b.is_ok(),
            "exactly one of two concurrent creates of {name} succeeds: {a:?} / {b:?}"
        );
    }
    let listed = owner
        .json_ok("files/list", serde_json::json!({ "project": project.0 }))
        .await;
    let same = listed.as_array().map_or(0, |a| {
        a.iter()
            .filter(|e| e["name"].as_str().is_some_and(|n| n.starts_with("same-")))
            .count()
    });
    assert_eq!(same, 5);
    server.finish().await;
}
