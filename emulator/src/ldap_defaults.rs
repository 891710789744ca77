//! The defaults of the LDAP create body (`ee/routes/v1/ldap-router.ts`, zod `.default()`), applied
//! only when the key is absent.

pub(crate) const UNIQUE_USER_ATTRIBUTE: &str = "uidNumber";
pub(crate) const SEARCH_FILTER: &str = "(uid={{username}})";
pub(crate) const GROUP_SEARCH_FILTER: &str =
    "(|(memberUid={{.Username}})(member={{.UserDN}})(uniqueMember={{.UserDN}}))";
