//! Projects and sharing end to end: CRUD, invites by name and by link, role checks, and the
//! 403/404 pages.

use crate::common::{Backend, TestServer};
use reqwest::StatusCode;

async fn project_crud(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.client();
    alice.signup("alice").await;

    let empty = alice.call("projects/create", &[("name", "   ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let slash = alice.call("projects/create", &[("name", "a/b")]).await;
    assert_eq!(slash.body["Invalid"]["field"], "name");

    let id = alice.create_project("  Rocket  ").await;
    let list = alice.ok("projects/list", &[]).await;
    assert_eq!(list[0]["name"], "Rocket", "name is trimmed");
    assert_eq!(list[0]["role"], "owner");
    assert_eq!(list[0]["member_count"], 1);

    let pid = id.to_string();
    alice
        .ok(
            "projects/rename",
            &[("project", &pid), ("name", "Rocket 2")],
        )
        .await;
    let ws = alice.ok("projects/workspace", &[("project", &pid)]).await;
    assert_eq!(ws["project"]["name"], "Rocket 2");
    assert_eq!(ws["members"][0]["user"]["name"], "alice");

    // The shell is rendered on the server with real data and honest empty states; an
    // editor's first visit gives the project its first file, open in the editor.
    let page = alice.get(&format!("/p/{id}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("Rocket 2"), "{html}");
    assert!(html.contains(r#"data-test="file-tree""#) && html.contains(r#"data-name="README.md""#));
    assert!(html.contains(r#"data-test="editor""#) && html.contains("Connecting…"));
    // The chat pane is there with its composer; its history loads once the page is live.
    assert!(
        html.contains(r#"data-test="chat-panel""#) && html.contains(r#"data-test="chat-input""#)
    );
    assert!(html.contains("Loading chat…"));

    let wrong = alice
        .call(
            "projects/delete",
            &[("project", &pid), ("confirm", "rocket")],
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "confirmation must match exactly"
    );
    alice
        .ok(
            "projects/delete",
            &[("project", &pid), ("confirm", "Rocket 2")],
        )
        .await;
    assert_eq!(alice.ok("projects/list", &[]).await, serde_json::json!([]));
    assert_eq!(
        alice.get(&format!("/p/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    server.finish().await;
}

async fn sharing_and_roles(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob, carol) = (server.client(), server.client(), server.client());
    alice.signup("alice").await;
    let bob_id = bob.signup("bob").await.to_string();
    carol.signup("carol").await;
    let id = alice.create_project("Shared").await;
    let pid = id.to_string();

    // A stranger gets 403 for the page and every function; unknown projects are 404.
    let page = carol.get(&format!("/p/{id}")).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert!(page.text().await.expect("html").contains("403"));
    assert_eq!(
        carol
            .call("projects/workspace", &[("project", &pid)])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(carol.get("/p/999999").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        carol
            .call("projects/workspace", &[("project", "999999")])
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Invite by name as viewer: bob sees the project and may look but not rename.
    let unknown = alice
        .call(
            "projects/invite",
            &[("project", &pid), ("username", "zed"), ("role", "viewer")],
        )
        .await;
    assert_eq!(unknown.body["Invalid"]["field"], "username");
    alice
        .ok(
            "projects/invite",
            &[("project", &pid), ("username", "Bob"), ("role", "viewer")],
        )
        .await;
    let again = alice
        .call(
            "projects/invite",
            &[("project", &pid), ("username", "bob"), ("role", "editor")],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let list = bob.ok("projects/list", &[]).await;
    assert_eq!(list[0]["role"], "viewer");
    assert_eq!(bob.get(&format!("/p/{id}")).await.status(), StatusCode::OK);
    let rename = bob
        .call(
            "projects/rename",
            &[("project", &pid), ("name", "Mine now")],
        )
        .await;
    assert_eq!(rename.status, StatusCode::FORBIDDEN);
    let invite = bob
        .call(
            "projects/invite",
            &[("project", &pid), ("username", "carol"), ("role", "owner")],
        )
        .await;
    assert_eq!(invite.status, StatusCode::FORBIDDEN, "only owners share");
    let delete = bob
        .call(
            "projects/delete",
            &[("project", &pid), ("confirm", "Shared")],
        )
        .await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);

    // The owner promotes bob; now he can rename.
    alice
        .ok(
            "projects/set-role",
            &[("project", &pid), ("user", &bob_id), ("role", "editor")],
        )
        .await;
    bob.ok(
        "projects/rename",
        &[("project", &pid), ("name", "Shared 2")],
    )
    .await;

    // Invite link: carol previews and accepts as editor.
    let link = alice
        .ok(
            "projects/invite-links/create",
            &[("project", &pid), ("role", "editor"), ("hours", "24")],
        )
        .await;
    let token = link["token"].as_str().expect("token").to_owned();
    assert!(token.len() >= 40);
    let bad_ttl = alice
        .call(
            "projects/invite-links/create",
            &[("project", &pid), ("role", "editor"), ("hours", "100000")],
        )
        .await;
    assert_eq!(bad_ttl.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bob.call("projects/invite-links", &[("project", &pid)])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let preview = carol.ok("invites/preview", &[("token", &token)]).await;
    assert_eq!(preview["project_name"], "Shared 2");
    assert_eq!(preview["invited_by"], "alice");
    assert_eq!(
        carol.get(&format!("/invite/{token}")).await.status(),
        StatusCode::OK
    );
    let joined = carol.ok("invites/accept", &[("token", &token)]).await;
    assert_eq!(joined, serde_json::json!(id));
    assert_eq!(carol.ok("projects/list", &[]).await[0]["role"], "editor");
    let bogus = carol.call("invites/accept", &[("token", "nope")]).await;
    assert_eq!(bogus.status, StatusCode::NOT_FOUND);

    // Revoked links stop working.
    let link2 = alice
        .ok(
            "projects/invite-links/create",
            &[("project", &pid), ("role", "viewer"), ("hours", "1")],
        )
        .await;
    let link2_id = link2["id"].to_string();
    assert_eq!(
        alice
            .ok("projects/invite-links", &[("project", &pid)])
            .await
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    alice
        .ok(
            "projects/invite-links/revoke",
            &[("project", &pid), ("invite", &link2_id)],
        )
        .await;
    let dave = server.client();
    dave.signup("dave").await;
    assert_eq!(
        dave.call(
            "invites/accept",
            &[("token", link2["token"].as_str().expect("t"))]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    // The last owner can neither leave nor be demoted; a removed member loses access.
    let alice_id = alice.ok("me", &[]).await["id"].to_string();
    let leave = alice
        .call(
            "projects/remove-member",
            &[("project", &pid), ("user", &alice_id)],
        )
        .await;
    assert_eq!(leave.status, StatusCode::CONFLICT);
    let demote = alice
        .call(
            "projects/set-role",
            &[("project", &pid), ("user", &alice_id), ("role", "viewer")],
        )
        .await;
    assert_eq!(demote.status, StatusCode::CONFLICT);
    let kick = bob
        .call(
            "projects/remove-member",
            &[("project", &pid), ("user", &alice_id)],
        )
        .await;
    assert_eq!(
        kick.status,
        StatusCode::FORBIDDEN,
        "editors cannot remove others"
    );
    alice
        .ok(
            "projects/remove-member",
            &[("project", &pid), ("user", &bob_id)],
        )
        .await;
    assert_eq!(
        bob.get(&format!("/p/{id}")).await.status(),
        StatusCode::FORBIDDEN
    );
    let members = alice.ok("projects/workspace", &[("project", &pid)]).await["members"].clone();
    let names: Vec<&str> = members
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["user"]["name"].as_str())
        .collect();
    assert_eq!(names, ["alice", "carol"]);
    server.finish().await;
}

async fn signed_out_calls_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let anon = server.client();
    for (endpoint, form) in [
        ("projects/list", vec![]),
        ("projects/create", vec![("name", "x")]),
        ("projects/workspace", vec![("project", "1")]),
        ("invites/accept", vec![("token", "x")]),
    ] {
        let r = anon.call(endpoint, &form).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{endpoint}");
        assert_eq!(r.error_kind(), "NotSignedIn");
    }
    // Malformed arguments get a clear 4xx, never a panic or a 500.
    let alice = server.client();
    alice.signup("alice").await;
    let r = alice
        .call("projects/workspace", &[("project", "not-a-number")])
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    let r = alice
        .call(
            "projects/set-role",
            &[("project", "1"), ("user", "1"), ("role", "emperor")],
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    server.finish().await;
}

db_tests!(
    project_crud,
    sharing_and_roles,
    signed_out_calls_are_refused
);
