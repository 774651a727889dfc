//! The one registration point. Each studio crate implements [`Studio`]; the server lists
//! them and [`Composition`] turns the list into one web renderer, one set of migrations,
//! one role registry, one navigation, and (once the platform state exists) one router and
//! one set of job handlers. Nothing outside the list names a studio.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use sqlx::migrate::Migrator;
use tutti_store::Worker;
use tutti_web::Web;
use tutti_web::render::NavLink;

use crate::Platform;
use crate::access::{RoleDef, Roles, StudioRoutes};
use crate::error::PlatformError;
use crate::identity::IdentityProvider;

/// A link to a studio or an admin page, labelled by a message id.
#[derive(Debug, Clone, Serialize)]
pub struct NavEntry {
    pub href: &'static str,
    /// Fluent message id of the link text.
    pub label: &'static str,
    /// Fluent message id of a sentence saying what is there (the home page shows it).
    pub about: &'static str,
}

impl NavEntry {
    pub fn link(&self) -> NavLink {
        NavLink {
            href: self.href.to_string(),
            label: self.label.to_string(),
        }
    }
}

/// What a studio brings once the platform state exists.
pub struct Mounted {
    pub routes: StudioRoutes,
    /// Adds the studio's job handlers (and schedules) to a worker.
    pub jobs: Option<Arc<dyn Fn(Worker) -> Worker + Send + Sync>>,
    /// Set by the one studio that knows who people are (accounts).
    pub identity: Option<Arc<dyn IdentityProvider>>,
    /// What the studio removes when a person's account is deleted.
    pub forget: Option<Arc<dyn crate::Forget>>,
}

impl Mounted {
    pub fn routes(routes: StudioRoutes) -> Mounted {
        Mounted {
            routes,
            jobs: None,
            identity: None,
            forget: None,
        }
    }
}

/// A studio: one crate's contribution to the server. Everything but [`Studio::mount`] is
/// static, so the server can build the renderer and migrate before any state exists.
/// A studio's settings reach it through its constructor: the server's list reads its
/// section, `[studios.<name>]`, into the studio's own settings type (defaults filled in,
/// unknown keys refused), and [`Studio::settings`] shows them back.
pub trait Studio: Send + Sync {
    /// A short lower-case name: a prefix for its templates, jobs and log lines.
    fn name(&self) -> &'static str;

    /// Its tables. Versions must not collide with another studio's.
    fn migrations(&self) -> Option<&'static Migrator> {
        None
    }

    /// `(name, source)` of its templates, named `<studio>/<file>.html`.
    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// `(language, Fluent source)` of its messages.
    fn messages(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// `(file name, contents)` served under `/assets/`.
    fn assets(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// The roles its routes require.
    fn roles(&self) -> Vec<RoleDef> {
        Vec::new()
    }

    /// Its entry on the home page and in the header, if people visit it.
    fn nav(&self) -> Option<NavEntry> {
        None
    }

    /// Its tabs in the admin area.
    fn admin_tabs(&self) -> Vec<NavEntry> {
        Vec::new()
    }

    /// Path prefixes whose next segment is a secret (a one-time link such as
    /// `/invite/{token}`): the request log writes that segment as `REDACTED`.
    fn secret_paths(&self) -> &'static [&'static str] {
        &[]
    }

    /// Path prefixes served to apps that carry their own credentials in each request
    /// (Subsonic's `/rest/`): the gate reads no session cookie there and asks for no CSRF
    /// token or same Origin; the studio's handlers authenticate every call themselves.
    fn own_credentials(&self) -> &'static [&'static str] {
        &[]
    }

    /// The settings it runs with, defaults filled in, as its `[studios.<name>]` section
    /// would spell them: `tutti config` prints them, and a section given for a studio
    /// that has none is refused as misspelt.
    fn settings(&self) -> Option<serde_json::Value> {
        None
    }

    /// Builds its state on the platform's and returns its routes and jobs.
    fn mount(&self, platform: &Platform) -> Result<Mounted, PlatformError>;
}

/// The studios of one server, put together.
pub struct Composition {
    studios: Vec<Box<dyn Studio>>,
}

impl Composition {
    /// Checks that the studios fit together: unique names, migration versions and roles.
    pub fn new(studios: Vec<Box<dyn Studio>>) -> Result<Composition, PlatformError> {
        let composition = Composition { studios };
        composition.check_names()?;
        composition.migrations()?;
        composition.roles()?;
        Ok(composition)
    }

    pub fn studios(&self) -> &[Box<dyn Studio>] {
        &self.studios
    }

    fn check_names(&self) -> Result<(), PlatformError> {
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.studios {
            if !seen.insert(s.name()) {
                return Err(PlatformError::Composition(format!(
                    "two studios are named {}",
                    s.name()
                )));
            }
        }
        Ok(())
    }

    /// Every studio's migrations, after checking no two share a version (sqlx would
    /// otherwise run one and silently skip the other).
    pub fn migrations(&self) -> Result<Vec<&'static Migrator>, PlatformError> {
        let mut sets = vec![
            (&tutti_store::db::MIGRATIONS, "store"),
            (&crate::MIGRATIONS, "platform"),
        ];
        sets.extend(
            self.studios
                .iter()
                .filter_map(|s| s.migrations().map(|m| (m, s.name()))),
        );
        check_versions(&sets)?;
        Ok(sets.into_iter().map(|(m, _)| m).collect())
    }

    /// The registry of every declared role, the platform's `admin` first.
    pub fn roles(&self) -> Result<Roles, PlatformError> {
        let mut defs = vec![
            RoleDef {
                role: crate::Role::ADMIN,
                label: "role-admin",
                studio: "platform",
            },
            RoleDef {
                role: crate::Role::MEMBER,
                label: "role-member",
                studio: "platform",
            },
        ];
        defs.extend(self.studios.iter().flat_map(|s| s.roles()));
        Roles::new(defs)
    }

    /// One renderer with the platform's and every studio's templates and messages.
    pub fn web(&self) -> Web {
        let mut builder = Web::builder()
            .add_templates(crate::core::TEMPLATES)
            .add_messages(crate::core::MESSAGES);
        for s in &self.studios {
            builder = builder
                .add_templates(s.templates())
                .add_messages(s.messages());
        }
        builder.build()
    }

    /// The platform's assets and every studio's, for `/assets/`.
    pub fn assets(&self) -> Vec<&'static [(&'static str, &'static str)]> {
        let mut lists = vec![tutti_web::assets::ASSETS];
        lists.extend(self.studios.iter().map(|s| s.assets()));
        lists
    }

    pub fn nav(&self) -> Vec<NavEntry> {
        self.studios.iter().filter_map(|s| s.nav()).collect()
    }

    /// Every studio's [`Studio::own_credentials`].
    pub fn own_credentials(&self) -> Vec<&'static str> {
        self.studios
            .iter()
            .flat_map(|s| s.own_credentials().iter().copied())
            .collect()
    }

    /// Every studio's [`Studio::secret_paths`].
    pub fn secret_paths(&self) -> Vec<&'static str> {
        self.studios
            .iter()
            .flat_map(|s| s.secret_paths().iter().copied())
            .collect()
    }

    pub fn admin_tabs(&self) -> Vec<NavEntry> {
        let mut tabs = Vec::new();
        for s in &self.studios {
            tabs.extend(s.admin_tabs());
        }
        tabs.extend(crate::core::admin_tabs());
        tabs
    }
}

fn check_versions(sets: &[(&'static Migrator, &'static str)]) -> Result<(), PlatformError> {
    let mut owner: BTreeMap<i64, &str> = BTreeMap::new();
    for (migrator, studio) in sets {
        for m in migrator.iter() {
            if let Some(other) = owner.insert(m.version, studio) {
                return Err(PlatformError::Composition(format!(
                    "migration version {} belongs to both {other} and {studio}; give one of \
                     them a new version",
                    m.version
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    static A: Migrator = sqlx::migrate!("./migrations");

    #[test]
    fn colliding_migration_versions_are_refused() {
        let err = check_versions(&[(&A, "one"), (&A, "two")]).unwrap_err();
        assert!(
            err.to_string().contains("belongs to both one and two"),
            "{err}"
        );
        check_versions(&[(&A, "one"), (&tutti_store::db::MIGRATIONS, "store")]).unwrap();
    }
}
