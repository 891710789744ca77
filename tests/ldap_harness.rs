//! The LDAP test directory (`support::ldap`): a real slapd over LDAPS with the test CA, binding
//! and searching as the LDAP kind will, refusing what a real directory refuses. No Kubernetes.

mod support;

use ldap3::{LdapError, Scope, SearchEntry};
use support::ldap::{self, Directory, DirectoryOptions};

/// slapd's answer to a bind with a wrong password (RFC 4511 invalidCredentials).
const INVALID_CREDENTIALS: u32 = 49;

#[tokio::test]
async fn ldaps_bind_succeeds_with_the_right_password_and_is_refused_with_a_wrong_one() {
    let dir = Directory::start();
    assert!(dir.url.starts_with("ldaps://127.0.0.1:"), "{}", dir.url);

    let ok = ldap::simple_bind(
        &dir.url,
        dir.tls_config(),
        &dir.bind_dn,
        dir.bind_password(),
    )
    .await
    .expect("the bind is answered");
    assert_eq!(ok.rc, 0, "bind as {}: {ok:?}", dir.bind_dn);

    let wrong = ldap::simple_bind(&dir.url, dir.tls_config(), &dir.bind_dn, "not-the-password")
        .await
        .expect("the bind is answered");
    assert_eq!(wrong.rc, INVALID_CREDENTIALS, "{wrong:?}");

    // A user's own password binds too (Infisical's LDAP login binds as the user).
    let alice = dir.user("alice");
    let as_alice = ldap::simple_bind(&dir.url, dir.tls_config(), &alice.dn, alice.password())
        .await
        .unwrap();
    assert_eq!(as_alice.rc, 0, "{as_alice:?}");

    // The log tells what happened, by DN and result code, and never with a password.
    let log = dir.log();
    assert!(
        log.contains(&format!("BIND dn=\"{}\"", dir.bind_dn)),
        "{log}"
    );
    assert!(log.contains("err=49"), "{log}");
    assert!(
        !log.contains(dir.bind_password()),
        "slapd's log holds the bind password"
    );
}

#[tokio::test]
async fn a_bound_search_of_the_base_finds_the_users_and_the_groups_with_their_members() {
    let dir = Directory::start();
    let mut conn = ldap::connect(&dir.url, dir.tls_config(), false)
        .await
        .unwrap();
    conn.simple_bind(&dir.bind_dn, dir.bind_password())
        .await
        .unwrap()
        .success()
        .unwrap();

    let (entries, _) = conn
        .search(
            &dir.base_dn,
            Scope::Subtree,
            "(objectClass=inetOrgPerson)",
            vec!["uid", "mail", "cn", "givenName", "sn", "uidNumber"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let mut found: Vec<SearchEntry> = entries.into_iter().map(SearchEntry::construct).collect();
    found.sort_by(|a, b| a.dn.cmp(&b.dn));
    assert_eq!(found.len(), dir.users.len(), "{found:?}");
    for user in &dir.users {
        let entry = found
            .iter()
            .find(|e| e.dn == user.dn)
            .unwrap_or_else(|| panic!("{} not found in {found:?}", user.dn));
        let attr = |name: &str| entry.attrs.get(name).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(attr("uid"), [user.uid.as_str()]);
        assert_eq!(attr("mail"), [user.mail.as_str()]);
        assert_eq!(attr("cn"), [user.cn.as_str()]);
        assert_eq!(attr("givenName"), [user.given_name.as_str()]);
        assert_eq!(attr("sn"), [user.sn.as_str()]);
        assert_eq!(attr("uidNumber"), [user.uid_number.to_string()]);
        assert!(
            !entry.attrs.contains_key("userPassword"),
            "the service account can read passwords"
        );
    }

    // The groups a user belongs to, found the way Infisical's default group filter does.
    let alice = dir.user("alice");
    let (groups, _) = conn
        .search(
            support::ldap::GROUPS_DN,
            Scope::Subtree,
            &format!("(&(objectClass=groupOfNames)(member={}))", alice.dn),
            vec!["cn"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let mut cns: Vec<String> = groups
        .into_iter()
        .map(|e| SearchEntry::construct(e).attrs["cn"][0].clone())
        .collect();
    cns.sort();
    assert_eq!(cns, ["admins", "engineering"]);
    assert_eq!(
        dir.group("engineering").members,
        [alice.dn.clone(), dir.user("bob").dn.clone()]
    );
    let _ = conn.unbind().await;
}

#[tokio::test]
async fn anonymous_clients_can_bind_but_not_read() {
    let dir = Directory::start();
    let mut conn = ldap::connect(&dir.url, dir.tls_config(), false)
        .await
        .unwrap();
    let result = conn
        .search(&dir.base_dn, Scope::Subtree, "(objectClass=*)", vec!["dn"])
        .await
        .unwrap();
    assert!(
        result.0.is_empty(),
        "an anonymous search found {} entries",
        result.0.len()
    );
    // noSuchObject: slapd hides the base itself from a client that may not read it.
    assert_eq!(result.1.rc, 32, "{:?}", result.1);
    let _ = conn.unbind().await;
}

#[tokio::test]
async fn a_client_that_trusts_another_ca_is_refused_during_the_handshake() {
    let dir = Directory::start();
    let other_ca = support::pki().ca_pem;
    let err = ldap::simple_bind(
        &dir.url,
        ldap::tls_config(&other_ca, None),
        &dir.bind_dn,
        dir.bind_password(),
    )
    .await
    .expect_err("a certificate from an unknown CA is accepted");
    // rustls rejects the server's certificate (as BadSignature: the other test CA has the same
    // name, so it is taken as the issuer and its key does not verify the signature).
    let message = err.to_string();
    assert!(
        matches!(err, LdapError::Io { .. }) && message.contains("invalid peer certificate"),
        "{message}"
    );
}

#[tokio::test]
async fn starttls_on_the_plain_port_binds_with_the_same_ca() {
    let dir = Directory::start();
    assert!(
        dir.plain_url.starts_with("ldap://127.0.0.1:"),
        "{}",
        dir.plain_url
    );
    let mut conn = ldap::connect(&dir.plain_url, dir.tls_config(), true)
        .await
        .expect("StartTLS");
    let result = conn
        .simple_bind(&dir.bind_dn, dir.bind_password())
        .await
        .unwrap();
    assert_eq!(result.rc, 0, "{result:?}");
    let _ = conn.unbind().await;
}

#[tokio::test]
async fn a_directory_requiring_client_certificates_accepts_its_own_and_refuses_none() {
    let dir = Directory::start_with(DirectoryOptions {
        require_client_certificate: true,
    });
    let identity = dir.client.clone().expect("a client identity");

    let with_cert = ldap::simple_bind(
        &dir.url,
        ldap::tls_config(&dir.ca_pem, Some(&identity)),
        &dir.bind_dn,
        dir.bind_password(),
    )
    .await
    .expect("a bind with the client certificate is answered");
    assert_eq!(with_cert.rc, 0, "{with_cert:?}");

    // TLS 1.3 finishes the client's side of the handshake before the server checks the
    // certificate, so the refusal can arrive at the connect or at the bind: either way no answer.
    let without = ldap::simple_bind(
        &dir.url,
        ldap::tls_config(&dir.ca_pem, None),
        &dir.bind_dn,
        dir.bind_password(),
    )
    .await;
    assert!(
        without.is_err(),
        "a client without a certificate got an answer: {without:?}"
    );
    let log = dir.log();
    assert!(
        log.contains("Certificate is required") && log.contains("TLS negotiation failure"),
        "slapd did not refuse the handshake for the missing certificate:\n{log}"
    );
}

#[tokio::test]
async fn a_rotated_password_replaces_the_old_one() {
    let dir = Directory::start();
    let old = dir.bind_password().to_string();
    let new = uuid::Uuid::new_v4().simple().to_string();
    dir.set_password(&dir.bind_dn, &new).await;

    let with_new = ldap::simple_bind(&dir.url, dir.tls_config(), &dir.bind_dn, &new)
        .await
        .unwrap();
    assert_eq!(with_new.rc, 0, "{with_new:?}");
    let with_old = ldap::simple_bind(&dir.url, dir.tls_config(), &dir.bind_dn, &old)
        .await
        .unwrap();
    assert_eq!(with_old.rc, INVALID_CREDENTIALS, "{with_old:?}");
    // slapd logs the modification by attribute name, never its value.
    let log = dir.log();
    assert!(log.contains("attr=userPassword"), "{log}");
    assert!(
        !log.contains(&new) && !log.contains(&old),
        "slapd's log holds a bind password"
    );
}

#[test]
fn dropping_the_directory_kills_slapd_and_removes_its_folder() {
    let dir = Directory::start();
    let pid = dir.pid();
    let folder = dir.path().to_path_buf();
    let proc_entry = std::path::PathBuf::from(format!("/proc/{pid}"));
    assert!(proc_entry.exists(), "slapd (pid {pid}) is not running");
    assert!(folder.join("slapd.conf").is_file());
    drop(dir);
    assert!(
        !proc_entry.exists(),
        "slapd (pid {pid}) outlived its Directory"
    );
    assert!(!folder.exists(), "{} is left behind", folder.display());
}
