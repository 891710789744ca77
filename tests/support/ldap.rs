//! A real directory for the LDAP tests: OpenLDAP's `slapd` from Debian's package (unpacked by
//! `hack/ldap/install.sh`, no system daemon), one private server per [`Directory::start`], from a
//! `slapd.conf` generated in a temporary folder with an mdb database bulk-loaded by `slapadd`.
//!
//! It listens on `ldaps://127.0.0.1:<port>` with a server certificate from the harness's test CA
//! ([`super::pki`]), and on `ldap://127.0.0.1:<port>` for plain LDAP and StartTLS. It holds a
//! service account to bind as ([`Directory::bind_dn`]), users and groups under
//! `dc=example,dc=org`, and, with [`DirectoryOptions::require_client_certificate`], refuses TLS
//! clients without a certificate from its own client CA (mTLS). Anonymous clients can only bind.
//!
//! ```ignore
//! let dir = support::ldap::Directory::start();
//! let tls = support::ldap::tls_config(&dir.ca_pem, None);
//! let result = support::ldap::simple_bind(&dir.url, tls, &dir.bind_dn, dir.bind_password()).await?;
//! ```
//!
//! The programs come from `SLAPD_DIR` (hack/test.sh sets it), else from one run of
//! `hack/ldap/install.sh`. Every password is random per directory; none is printed ([`Directory`]'s
//! `Debug` leaves them out, and slapd's `stats` log, [`Directory::log`], names DNs, never
//! passwords). Dropping the directory kills its slapd (by pid) and removes the folder.

use std::fmt;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, LdapResult};

/// The directory's suffix: every entry lives under it.
pub const BASE_DN: &str = "dc=example,dc=org";
pub const PEOPLE_DN: &str = "ou=people,dc=example,dc=org";
pub const GROUPS_DN: &str = "ou=groups,dc=example,dc=org";
/// The account an Infisical LDAP configuration binds as (it can read the whole tree).
pub const BIND_DN: &str = "cn=infisical,ou=services,dc=example,dc=org";
/// slapd's rootdn: for tests that change the directory (a rotated password, a new user).
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=org";

/// How long slapd may take to listen, and a client to connect.
const START_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, Default)]
pub struct DirectoryOptions {
    /// `TLSVerifyClient demand`: TLS clients (LDAPS and StartTLS) must present a certificate
    /// signed by the directory's client CA ([`Directory::client`] holds one).
    pub require_client_certificate: bool,
}

/// A person in `ou=people`: `inetOrgPerson` with `posixAccount`, so `uid`, `mail` and
/// `uidNumber` can each serve as the unique user attribute.
#[derive(Clone)]
pub struct LdapUser {
    pub dn: String,
    pub uid: String,
    pub cn: String,
    pub given_name: String,
    pub sn: String,
    pub mail: String,
    pub uid_number: u32,
    password: String,
}

impl LdapUser {
    pub fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for LdapUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LdapUser")
            .field("dn", &self.dn)
            .field("mail", &self.mail)
            .finish_non_exhaustive()
    }
}

/// A `groupOfNames` in `ou=groups`; `members` are user DNs.
#[derive(Clone, Debug)]
pub struct LdapGroup {
    pub dn: String,
    pub cn: String,
    pub members: Vec<String>,
}

/// A client certificate and key (PEM) that a directory requiring client certificates accepts.
#[derive(Clone)]
pub struct ClientIdentity {
    pub cert_pem: String,
    pub key_pem: String,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity").finish_non_exhaustive()
    }
}

/// A running slapd; killed, and its folder removed, on drop.
pub struct Directory {
    child: Child,
    stopped: bool,
    dir: tempfile::TempDir,
    /// `ldaps://127.0.0.1:PORT`
    pub url: String,
    /// `ldap://127.0.0.1:PORT`: plain LDAP, or StartTLS with the same certificate.
    pub plain_url: String,
    /// The CA that signed the server certificate (PEM): what a client must trust.
    pub ca_pem: String,
    pub base_dn: String,
    pub bind_dn: String,
    bind_password: String,
    pub admin_dn: String,
    admin_password: String,
    pub users: Vec<LdapUser>,
    pub groups: Vec<LdapGroup>,
    /// With [`DirectoryOptions::require_client_certificate`]: a certificate it accepts.
    pub client: Option<ClientIdentity>,
}

impl fmt::Debug for Directory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Directory")
            .field("pid", &self.child.id())
            .field("url", &self.url)
            .field("plain_url", &self.plain_url)
            .field("bind_dn", &self.bind_dn)
            .field("users", &self.users)
            .field("groups", &self.groups)
            .field("client_certificates", &self.client.is_some())
            .finish_non_exhaustive()
    }
}

impl Directory {
    pub fn start() -> Self {
        Self::start_with(DirectoryOptions::default())
    }

    pub fn start_with(options: DirectoryOptions) -> Self {
        let slapd = slapd_dir();
        let dir = tempfile::Builder::new()
            .prefix("slapd-")
            .tempdir()
            .expect("a temporary folder for slapd");
        let pki = super::pki();
        let client = options.require_client_certificate.then(client_pki);
        let password = || uuid::Uuid::new_v4().simple().to_string();
        let (bind_password, admin_password) = (password(), password());
        let users = sample_users(password);
        let groups = sample_groups(&users);

        write(dir.path(), "server.crt", &pki.server.cert_pem);
        write(dir.path(), "server.key", &pki.server.key_pem);
        if let Some((client_ca, _)) = &client {
            write(dir.path(), "client-ca.crt", client_ca.as_bytes());
        }
        let config = slapd_conf(
            &slapd,
            dir.path(),
            &admin_password,
            options.require_client_certificate,
        );
        write(dir.path(), "slapd.conf", config.as_bytes());
        let data = directory_ldif(&bind_password, &users, &groups);
        write(dir.path(), "data.ldif", data.as_bytes());
        std::fs::create_dir(dir.path().join("db")).unwrap();
        slapadd(&slapd, dir.path());

        let (child, ldaps_port, ldap_port) = listen(&slapd, dir.path());
        Directory {
            child,
            stopped: false,
            url: format!("ldaps://127.0.0.1:{ldaps_port}"),
            plain_url: format!("ldap://127.0.0.1:{ldap_port}"),
            dir,
            ca_pem: pki.ca_pem,
            base_dn: BASE_DN.into(),
            bind_dn: BIND_DN.into(),
            bind_password,
            admin_dn: ADMIN_DN.into(),
            admin_password,
            users,
            groups,
            client: client.map(|(_, identity)| identity),
        }
    }

    pub fn bind_password(&self) -> &str {
        &self.bind_password
    }

    pub fn admin_password(&self) -> &str {
        &self.admin_password
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The folder holding slapd.conf, the database, the certificates and the log.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The user with this `uid`; panics when there is none.
    pub fn user(&self, uid: &str) -> &LdapUser {
        self.users
            .iter()
            .find(|u| u.uid == uid)
            .unwrap_or_else(|| panic!("no user {uid} in the test directory"))
    }

    /// The group with this `cn`; panics when there is none.
    pub fn group(&self, cn: &str) -> &LdapGroup {
        self.groups
            .iter()
            .find(|g| g.cn == cn)
            .unwrap_or_else(|| panic!("no group {cn} in the test directory"))
    }

    /// A TLS configuration that trusts this directory's CA (and presents its client certificate,
    /// when it requires one).
    pub fn tls_config(&self) -> Arc<rustls::ClientConfig> {
        tls_config(&self.ca_pem, self.client.as_ref())
    }

    /// slapd's log so far (`-d stats`: connections, operations with their DNs, result codes).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
    }

    /// Changes an entry's `userPassword` as the rootdn (a rotated bind password).
    pub async fn set_password(&self, dn: &str, password: &str) {
        let mut ldap = connect(&self.url, self.tls_config(), false)
            .await
            .expect("connect as the rootdn");
        ldap.simple_bind(&self.admin_dn, &self.admin_password)
            .await
            .and_then(LdapResult::success)
            .expect("bind as the rootdn");
        let change = ldap3::Mod::Replace("userPassword", [password].into_iter().collect());
        ldap.modify(dn, vec![change])
            .await
            .and_then(LdapResult::success)
            .unwrap_or_else(|e| panic!("set the password of {dn}: {e}"));
        let _ = ldap.unbind().await;
    }

    /// Kills slapd (by its pid) and waits for it; the folder and log stay until drop.
    pub fn stop(&mut self) {
        if !self.stopped {
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.stopped = true;
        }
    }
}

impl Drop for Directory {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A rustls client configuration (aws-lc-rs, the project's one provider) that trusts only
/// `ca_pem`, and presents `client` when given.
pub fn tls_config(ca_pem: &str, client: Option<&ClientIdentity>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut ca_pem.as_bytes()) {
        roots.add(cert.expect("a PEM certificate")).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = match client {
        None => builder.with_no_client_auth(),
        Some(identity) => {
            let certs = rustls_pemfile::certs(&mut identity.cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = rustls_pemfile::private_key(&mut identity.key_pem.as_bytes())
                .unwrap()
                .expect("a PEM private key");
            builder.with_client_auth_cert(certs, key).unwrap()
        }
    };
    Arc::new(config)
}

/// An LDAP connection to `url` (`ldaps://`, or `ldap://` with `starttls`), driven in the
/// background; no bind yet.
pub async fn connect(
    url: &str,
    tls: Arc<rustls::ClientConfig>,
    starttls: bool,
) -> Result<Ldap, LdapError> {
    let settings = LdapConnSettings::new()
        .set_config(tls)
        .set_starttls(starttls)
        .set_conn_timeout(CONNECT_TIMEOUT);
    let (conn, ldap) = LdapConnAsync::with_settings(settings, url).await?;
    ldap3::drive!(conn);
    Ok(ldap)
}

/// Connects and binds as `dn`: the server's answer (`rc` 0, 49 for invalid credentials, ...),
/// or the error that kept the bind from being answered (TLS, connection).
pub async fn simple_bind(
    url: &str,
    tls: Arc<rustls::ClientConfig>,
    dn: &str,
    password: &str,
) -> Result<LdapResult, LdapError> {
    let mut ldap = connect(url, tls, false).await?;
    let result = ldap.simple_bind(dn, password).await;
    let _ = ldap.unbind().await;
    result
}

// ---- setup -------------------------------------------------------------------------------

/// The folder hack/ldap/install.sh unpacked slapd into: `SLAPD_DIR` when it holds slapd
/// (hack/test.sh sets it), else the one install.sh prints (it installs once per machine).
fn slapd_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("SLAPD_DIR").map(PathBuf::from)
            && dir.join("bin/slapd").is_file()
        {
            return dir;
        }
        let out = Command::new("bash")
            .arg("hack/ldap/install.sh")
            .current_dir(super::repo())
            .stderr(Stdio::inherit())
            .output()
            .expect("run bash hack/ldap/install.sh");
        assert!(
            out.status.success(),
            "hack/ldap/install.sh failed ({}): see its output above",
            out.status
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
    .clone()
}

fn write(dir: &Path, name: &str, content: &[u8]) {
    std::fs::write(dir.join(name), content)
        .unwrap_or_else(|e| panic!("write {}: {e}", dir.join(name).display()));
}

fn sample_users(mut password: impl FnMut() -> String) -> Vec<LdapUser> {
    [
        ("alice", "Alice", "Liddell", "alice@example.org"),
        ("bob", "Bob", "Stone", "bob@example.org"),
        ("carol", "Carol", "Danvers", "carol@example.com"),
    ]
    .into_iter()
    .zip(10001..)
    .map(|((uid, given_name, sn, mail), uid_number)| LdapUser {
        dn: format!("uid={uid},{PEOPLE_DN}"),
        uid: uid.into(),
        cn: format!("{given_name} {sn}"),
        given_name: given_name.into(),
        sn: sn.into(),
        mail: mail.into(),
        uid_number,
        password: password(),
    })
    .collect()
}

fn sample_groups(users: &[LdapUser]) -> Vec<LdapGroup> {
    let dn = |uid: &str| {
        users
            .iter()
            .find(|u| u.uid == uid)
            .map(|u| u.dn.clone())
            .unwrap()
    };
    [
        ("engineering", vec![dn("alice"), dn("bob")]),
        ("admins", vec![dn("alice")]),
    ]
    .into_iter()
    .map(|(cn, members)| LdapGroup {
        dn: format!("cn={cn},{GROUPS_DN}"),
        cn: cn.into(),
        members,
    })
    .collect()
}

fn slapd_conf(slapd: &Path, dir: &Path, admin_password: &str, client_certificates: bool) -> String {
    let schema = slapd.join("etc/ldap/schema");
    let modules = slapd.join("usr/lib/ldap");
    let d = dir.display();
    let client_tls = if client_certificates {
        format!("TLSCACertificateFile {d}/client-ca.crt\nTLSVerifyClient demand\n")
    } else {
        String::new()
    };
    format!(
        "\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
include {schema}/nis.schema
pidfile {d}/slapd.pid
modulepath {modules}
moduleload back_mdb
TLSCertificateFile {d}/server.crt
TLSCertificateKeyFile {d}/server.key
{client_tls}
# As a real directory would: passwords only for binding (and to their owner), the tree only to
# bound users, nothing to anonymous clients.
access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by users read
  by * none

database mdb
maxsize 16777216
suffix \"{BASE_DN}\"
rootdn \"{ADMIN_DN}\"
rootpw {admin_password}
directory {d}/db
index objectClass,uid,mail,member eq
",
        schema = schema.display(),
        modules = modules.display(),
    )
}

fn directory_ldif(bind_password: &str, users: &[LdapUser], groups: &[LdapGroup]) -> String {
    let mut ldif = format!(
        "\
dn: {BASE_DN}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=services,{BASE_DN}
objectClass: organizationalUnit
ou: services

dn: {PEOPLE_DN}
objectClass: organizationalUnit
ou: people

dn: {GROUPS_DN}
objectClass: organizationalUnit
ou: groups

dn: {BIND_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: infisical
userPassword: {bind_password}
"
    );
    for u in users {
        ldif += &format!(
            "
dn: {dn}
objectClass: inetOrgPerson
objectClass: posixAccount
uid: {uid}
cn: {cn}
givenName: {given}
sn: {sn}
mail: {mail}
uidNumber: {n}
gidNumber: {n}
homeDirectory: /home/{uid}
userPassword: {password}
",
            dn = u.dn,
            uid = u.uid,
            cn = u.cn,
            given = u.given_name,
            sn = u.sn,
            mail = u.mail,
            n = u.uid_number,
            password = u.password,
        );
    }
    for g in groups {
        ldif += &format!("\ndn: {}\nobjectClass: groupOfNames\ncn: {}\n", g.dn, g.cn);
        for m in &g.members {
            ldif += &format!("member: {m}\n");
        }
    }
    ldif
}

/// Bulk-loads data.ldif into the mdb database before slapd starts (`slapadd`, as `slapd -T add`).
fn slapadd(slapd: &Path, dir: &Path) {
    let out = Command::new(slapd.join("bin/slapd"))
        .args(["-T", "add", "-q", "-f"])
        .arg(dir.join("slapd.conf"))
        .arg("-l")
        .arg(dir.join("data.ldif"))
        .stdin(Stdio::null())
        .output()
        .expect("run slapadd");
    assert!(
        out.status.success(),
        "slapadd failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A port that was free a moment ago; slapd may lose it to another process before it binds, so
/// [`listen`] retries with new ones.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Starts slapd in the foreground (`-d stats`: it does not detach, and logs to stderr, into
/// slapd.log) and waits until both ports accept connections: (child, ldaps port, ldap port).
fn listen(slapd: &Path, dir: &Path) -> (Child, u16, u16) {
    let log_path = dir.join("slapd.log");
    let mut last_log = String::new();
    for _attempt in 0..5 {
        let (ldaps_port, ldap_port) = (free_port(), free_port());
        let log = File::create(&log_path).unwrap();
        // The wrapper execs slapd, so this pid is slapd's.
        let mut child = Command::new(slapd.join("bin/slapd"))
            .arg("-f")
            .arg(dir.join("slapd.conf"))
            .arg("-h")
            .arg(format!(
                "ldaps://127.0.0.1:{ldaps_port}/ ldap://127.0.0.1:{ldap_port}/"
            ))
            .args(["-d", "stats"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start slapd");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
                if last_log.contains("Address already in use") {
                    break; // a port was taken meanwhile: try others
                }
                panic!("slapd exited ({status}) before listening:\n{last_log}");
            }
            if accepts(ldaps_port) && accepts(ldap_port) {
                return (child, ldaps_port, ldap_port);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "slapd did not listen within {START_TIMEOUT:?}:\n{}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("slapd found no free ports in 5 attempts:\n{last_log}");
}

fn accepts(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

/// A client CA of the directory's own (PEM) and a client certificate it signed.
fn client_pki() -> (String, ClientIdentity) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(
        DnType::CommonName,
        "infisical-oidc-operator test LDAP client CA",
    );
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "infisical-ldap-client");
    leaf.use_authority_key_identifier_extension = true;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    (
        ca_cert.pem(),
        ClientIdentity {
            cert_pem: leaf_cert.pem(),
            key_pem: leaf_key.serialize_pem(),
        },
    )
}
