//! Elastic Cloud role assignments: the typed tree sent in `role_assignments` and read back from
//! invitations.
//!
//! Every part is optional and absent parts are omitted from the JSON, never sent as `null`.
//! Entries scoped to an organization carry an `organization_id`; leave it unset when building a
//! request: the request's organization is filled in when it is sent.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::model::error::Error;
use crate::model::kind::ProviderKind;

/// Elastic Cloud's role id for an organization owner.
pub const ORGANIZATION_ADMIN: &str = "organization-admin";
/// Elastic Cloud's role id for a billing administrator.
pub const BILLING_ADMIN: &str = "billing-admin";

/// Reads `null` as the type's default, so that a server writing `null` for an empty list or a
/// false flag still decodes.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// The roles a person gets on accepting an invitation (`role_assignments`).
///
/// Build it with [`RoleAssignments::new`] and the chained adders; each adder appends one entry.
/// The role from [`CreateInvitation::role`](crate::CreateInvitation::role) is merged in when the
/// request is sent (see [`ElasticCloud`](crate::ElasticCloud)).
///
/// ```
/// use orginvite::elastic::{DeploymentRole, OrganizationRole, PlatformRole, ProjectRole, RoleAssignments};
///
/// let roles = RoleAssignments::new()
///     .organization(OrganizationRole::billing_admin())
///     .deployment(DeploymentRole::all("deployment-viewer"))
///     .deployment(DeploymentRole::ids("deployment-editor", ["d1", "d2"]))
///     .elasticsearch(ProjectRole::all("elasticsearch-developer"))
///     .observability(ProjectRole::ids("observability-viewer", ["p1"]))
///     .security(ProjectRole::all("security-t1-analyst").application_roles(["viewer"]))
///     .platform(PlatformRole::new("platform-viewer"));
/// assert_eq!(roles.deployment.len(), 2);
/// assert!(!roles.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoleAssignments {
    /// Roles scoped to the organization (`organization`).
    #[serde(default, deserialize_with = "null_as_default")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub organization: Vec<OrganizationRole>,
    /// Roles scoped to deployments (`deployment`).
    #[serde(default, deserialize_with = "null_as_default")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deployment: Vec<DeploymentRole>,
    /// Roles scoped to serverless projects, by project type (`project`).
    #[serde(default, deserialize_with = "null_as_default")]
    #[serde(skip_serializing_if = "ProjectRoles::is_empty")]
    pub project: ProjectRoles,
    /// Roles with platform scope (`platform`).
    #[serde(default, deserialize_with = "null_as_default")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platform: Vec<PlatformRole>,
    /// Any other part Elastic Cloud sent; sent back as it is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl RoleAssignments {
    /// No role assignments.
    pub fn new() -> RoleAssignments {
        RoleAssignments::default()
    }

    setters! {
        /// Adds an organization role.
        organization(self, role: OrganizationRole) { self.organization.push(role) }

        /// Adds a deployment role.
        deployment(self, role: DeploymentRole) { self.deployment.push(role) }

        /// Adds a role on Elasticsearch projects.
        elasticsearch(self, role: ProjectRole) { self.project.elasticsearch.push(role) }

        /// Adds a role on Observability projects.
        observability(self, role: ProjectRole) { self.project.observability.push(role) }

        /// Adds a role on Security projects.
        security(self, role: ProjectRole) { self.project.security.push(role) }

        /// Adds a platform role.
        platform(self, role: PlatformRole) { self.platform.push(role) }
    }

    /// True when there is no assignment at all.
    pub fn is_empty(&self) -> bool {
        self.organization.is_empty()
            && self.deployment.is_empty()
            && self.project.is_empty()
            && self.platform.is_empty()
            && self.extra.is_empty()
    }

    /// Checks the documented rules and fills in `organization_id` with `organization` in every
    /// entry that has one.
    pub(crate) fn prepare(&mut self, organization: &str) -> Result<(), Error> {
        for role in &mut self.organization {
            check_role_id("role_assignments.organization", &role.role_id)?;
            fill(
                "role_assignments.organization",
                &mut role.organization_id,
                organization,
            )?;
        }
        for role in &mut self.deployment {
            let field = "role_assignments.deployment";
            check_role_id(field, &role.role_id)?;
            fill(field, &mut role.organization_id, organization)?;
            check_scope(field, "deployment_ids", role.all, &role.deployment_ids)?;
            check_application_roles(field, &role.application_roles)?;
        }
        for (field, roles) in [
            (
                "role_assignments.project.elasticsearch",
                &mut self.project.elasticsearch,
            ),
            (
                "role_assignments.project.observability",
                &mut self.project.observability,
            ),
            (
                "role_assignments.project.security",
                &mut self.project.security,
            ),
        ] {
            for role in roles {
                check_role_id(field, &role.role_id)?;
                fill(field, &mut role.organization_id, organization)?;
                check_scope(field, "project_ids", role.all, &role.project_ids)?;
                check_application_roles(field, &role.application_roles)?;
            }
        }
        for role in &self.platform {
            check_role_id("role_assignments.platform", &role.role_id)?;
        }
        Ok(())
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::invalid(Some(ProviderKind::ElasticCloud), field, reason)
}

fn check_role_id(field: &'static str, role_id: &str) -> Result<(), Error> {
    if role_id.trim().is_empty() {
        return Err(invalid(field, "has an entry with an empty `role_id`"));
    }
    if role_id.chars().any(char::is_control) {
        return Err(invalid(field, "has a `role_id` with control characters"));
    }
    Ok(())
}

fn fill(field: &'static str, slot: &mut Option<String>, organization: &str) -> Result<(), Error> {
    match slot {
        Some(id) if id != organization => Err(invalid(
            field,
            format!(
                "has an entry for organization {id:?}, not the invitation's organization {organization:?}"
            ),
        )),
        _ => {
            *slot = Some(organization.to_owned());
            Ok(())
        }
    }
}

/// `all: true` and ids exclude each other, and one of them is needed.
fn check_scope(
    field: &'static str,
    ids_name: &str,
    all: bool,
    ids: &[String],
) -> Result<(), Error> {
    if all && !ids.is_empty() {
        return Err(invalid(
            field,
            format!("has an entry with both `all: true` and `{ids_name}`: pick one"),
        ));
    }
    if !all && ids.is_empty() {
        return Err(invalid(
            field,
            format!("has an entry with neither `all: true` nor any `{ids_name}`"),
        ));
    }
    if ids.iter().any(|id| id.trim().is_empty()) {
        return Err(invalid(field, format!("has an empty id in `{ids_name}`")));
    }
    Ok(())
}

fn check_application_roles(field: &'static str, roles: &[String]) -> Result<(), Error> {
    if roles.iter().any(|role| role.trim().is_empty()) {
        return Err(invalid(field, "has an empty application role"));
    }
    Ok(())
}

/// A role scoped to the organization, such as `organization-admin` or `billing-admin`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrganizationRole {
    /// The role id.
    pub role_id: String,
    /// The organization it is scoped to. Filled in from the request when sending; when set, it
    /// must be the request's organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// Any other field Elastic Cloud sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl OrganizationRole {
    /// The organization role `role_id`.
    pub fn new(role_id: impl Into<String>) -> OrganizationRole {
        OrganizationRole {
            role_id: role_id.into(),
            organization_id: None,
            extra: Map::new(),
        }
    }

    /// `organization-admin`: an owner of the organization.
    pub fn admin() -> OrganizationRole {
        OrganizationRole::new(ORGANIZATION_ADMIN)
    }

    /// `billing-admin`: manages billing.
    pub fn billing_admin() -> OrganizationRole {
        OrganizationRole::new(BILLING_ADMIN)
    }
}

/// Defines a role on all resources of one kind, or on some of them by id: Elastic Cloud's
/// deployment and project roles have this one shape, each with its own name for the ids.
macro_rules! scoped_role {
    (
        $(#[$doc:meta])*
        $name:ident { ids: $ids:ident, of: $of:literal, such_as: $such_as:literal }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[non_exhaustive]
        pub struct $name {
            #[doc = concat!("The role id, such as ", $such_as, ".")]
            pub role_id: String,
            /// The organization it is scoped to. Filled in from the request when sending;
            /// when set, it must be the request's organization.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub organization_id: Option<String>,
            #[doc = concat!("True for every one of the ", $of, "; then the ids must be empty.")]
            #[serde(default, deserialize_with = "null_as_default")]
            #[serde(skip_serializing_if = "is_false")]
            pub all: bool,
            #[doc = concat!("The ", $of, ", when not [`all`](Self::all).")]
            #[serde(default, deserialize_with = "null_as_default")]
            #[serde(skip_serializing_if = "Vec::is_empty")]
            pub $ids: Vec<String>,
            #[doc = concat!("Application roles granted when signing in to the ", $of, ".")]
            #[serde(default, deserialize_with = "null_as_default")]
            #[serde(skip_serializing_if = "Vec::is_empty")]
            pub application_roles: Vec<String>,
            /// Any other field Elastic Cloud sent.
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }

        impl $name {
            #[doc = concat!("`role_id` on every one of the ", $of, " (`all: true`).")]
            pub fn all(role_id: impl Into<String>) -> $name {
                $name {
                    role_id: role_id.into(),
                    organization_id: None,
                    all: true,
                    $ids: Vec::new(),
                    application_roles: Vec::new(),
                    extra: Map::new(),
                }
            }

            #[doc = concat!("`role_id` on these ", $of, " (`", stringify!($ids), "`). At least one id is needed.")]
            pub fn ids<I, S>(role_id: impl Into<String>, $ids: I) -> $name
            where
                I: IntoIterator<Item = S>,
                S: Into<String>,
            {
                $name {
                    all: false,
                    $ids: $ids.into_iter().map(Into::into).collect(),
                    ..$name::all(role_id)
                }
            }

            #[doc = concat!("Adds application roles granted when signing in to the ", $of, ".")]
            pub fn application_roles<I, S>(mut self, roles: I) -> $name
            where
                I: IntoIterator<Item = S>,
                S: Into<String>,
            {
                self.application_roles
                    .extend(roles.into_iter().map(Into::into));
                self
            }
        }
    };
}

scoped_role! {
    /// A role on all deployments of the organization, or on some of them: build it with
    /// [`DeploymentRole::all`] or [`DeploymentRole::ids`].
    DeploymentRole {
        ids: deployment_ids,
        of: "deployments",
        such_as: "`deployment-admin`, `deployment-editor` or `deployment-viewer`"
    }
}

scoped_role! {
    /// A role on all projects of one type, or on some of them: build it with
    /// [`ProjectRole::all`] or [`ProjectRole::ids`].
    ProjectRole {
        ids: project_ids,
        of: "projects",
        such_as: "`elasticsearch-developer`, `observability-viewer` or `security-t1-analyst`"
    }
}

/// Roles on serverless projects, by project type (`project`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProjectRoles {
    /// Roles on Elasticsearch projects.
    #[serde(default, deserialize_with = "null_as_default")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub elasticsearch: Vec<ProjectRole>,
    /// Roles on Observability projects.
    #[serde(default, deserialize_with = "null_as_default")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub observability: Vec<ProjectRole>,
    /// Roles on Security projects.
    #[serde(default, deserialize_with = "null_as_default")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security: Vec<ProjectRole>,
    /// Project types this crate does not know yet, as Elastic Cloud sent them.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ProjectRoles {
    /// True when there is no project role at all.
    pub fn is_empty(&self) -> bool {
        self.elasticsearch.is_empty()
            && self.observability.is_empty()
            && self.security.is_empty()
            && self.extra.is_empty()
    }
}

/// A role with platform scope (`platform`): only a role id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PlatformRole {
    /// The role id.
    pub role_id: String,
    /// Any other field Elastic Cloud sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl PlatformRole {
    /// The platform role `role_id`.
    pub fn new(role_id: impl Into<String>) -> PlatformRole {
        PlatformRole {
            role_id: role_id.into(),
            extra: Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::error::ErrorKind;
    use serde_json::json;

    fn field(error: Error) -> &'static str {
        match error {
            Error::InvalidRequest(e) => e.field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_scope_rule_is_enforced() {
        let mut both = RoleAssignments::new().deployment(DeploymentRole {
            deployment_ids: vec!["d1".into()],
            ..DeploymentRole::all("deployment-viewer")
        });
        let error = both.prepare("org").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
        assert_eq!(field(error), "role_assignments.deployment");

        let mut neither = RoleAssignments::new()
            .security(ProjectRole::ids("security-viewer", Vec::<String>::new()));
        assert_eq!(
            field(neither.prepare("org").unwrap_err()),
            "role_assignments.project.security"
        );

        let mut blank = RoleAssignments::new().elasticsearch(ProjectRole::ids("x", [" "]));
        assert!(blank.prepare("org").is_err());
        let mut empty_role = RoleAssignments::new().platform(PlatformRole::new(""));
        assert_eq!(
            field(empty_role.prepare("org").unwrap_err()),
            "role_assignments.platform"
        );
    }

    #[test]
    fn organization_ids_are_filled_in_and_must_match() {
        let mut roles = RoleAssignments::new()
            .organization(OrganizationRole::admin())
            .deployment(DeploymentRole::ids("deployment-editor", ["d1"]));
        roles.prepare("org-1").unwrap();
        assert_eq!(
            roles.organization[0].organization_id.as_deref(),
            Some("org-1")
        );
        assert_eq!(
            roles.deployment[0].organization_id.as_deref(),
            Some("org-1")
        );

        let mut other = RoleAssignments::new().organization(OrganizationRole {
            organization_id: Some("org-2".into()),
            ..OrganizationRole::admin()
        });
        assert_eq!(
            field(other.prepare("org-1").unwrap_err()),
            "role_assignments.organization"
        );
    }

    #[test]
    fn absent_parts_are_omitted() {
        let roles = RoleAssignments::new()
            .deployment(DeploymentRole::ids("deployment-editor", ["d1"]))
            .platform(PlatformRole::new("p"));
        assert_eq!(
            serde_json::to_value(&roles).unwrap(),
            json!({
                "deployment": [{"role_id": "deployment-editor", "deployment_ids": ["d1"]}],
                "platform": [{"role_id": "p"}]
            })
        );
        assert_eq!(
            serde_json::to_value(RoleAssignments::new()).unwrap(),
            json!({})
        );
    }

    #[test]
    fn lenient_decoding_keeps_unknown_parts() {
        let roles: RoleAssignments = serde_json::from_value(json!({
            "organization": null,
            "deployment": [{"role_id": "deployment-viewer", "organization_id": "o", "all": null,
                            "deployment_ids": ["d"], "application_roles": null, "new": 1}],
            "project": {"search_ai_lake": [{"role_id": "x"}]},
            "future": true
        }))
        .unwrap();
        assert!(roles.organization.is_empty());
        assert_eq!(roles.deployment[0].deployment_ids, ["d"]);
        assert_eq!(roles.deployment[0].extra["new"], json!(1));
        assert!(roles.project.extra.contains_key("search_ai_lake"));
        assert_eq!(roles.extra["future"], json!(true));
    }
}
