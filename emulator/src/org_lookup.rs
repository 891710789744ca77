//! `orgDAL.findOrgById` as the SAML and LDAP services use it, after their permission and plan
//! checks (`ee/services/saml-config/saml-config-service.ts`, `ee/services/ldap-config/
//! ldap-config-service.ts`). Their miss message quotes the id with double quotes, unlike OIDC's.
#![allow(clippy::result_large_err)]

use axum::response::Response;

use crate::reply::err;
use crate::state::{Inner, Org};

pub(crate) fn find_org_by_id<'a>(
    inner: &'a mut Inner,
    org_id: &str,
) -> Result<&'a mut Org, Response> {
    inner.orgs.get_mut(org_id).ok_or_else(|| {
        err(
            404,
            "NotFound",
            format!("Could not find organization with ID \"{org_id}\""),
        )
    })
}

/// `samlConfigDAL.findOne({orgId})` / `ldapConfigDAL.findOne({orgId})` on an id that is not a
/// UUID: Postgres refuses the uuid cast and `ormify` reports it as 500 `Find one`.
pub(crate) fn uuid_cast_error(org_id: &str) -> Option<Response> {
    uuid::Uuid::parse_str(org_id)
        .is_err()
        .then(|| err(500, "Find one", "Something went wrong"))
}
