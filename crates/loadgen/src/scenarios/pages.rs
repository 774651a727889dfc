//! `tutti-load pages`: what every signed-in visitor does most, alternating the home page
//! (a server-rendered page: session lookup, template) and an authenticated API read
//! (`GET /api/v1/me`), each request from the next virtual user in turn.

use clap::Args;
use futures_util::future::BoxFuture;
use reqwest::StatusCode;

use crate::clients::{self, HttpUser};
use crate::run::{self, LoadArgs, Output};
use crate::schedule::Workload;
use crate::stats::Summary;

/// The home page.
pub const HOME: &str = "/";
/// The cheapest authenticated API read: the signed-in person.
pub const ME: &str = "/api/v1/me";

#[derive(Debug, Clone, Args)]
pub struct PagesArgs {
    #[command(flatten)]
    pub load: LoadArgs,
}

/// The workload: even requests open the home page, odd ones read `/api/v1/me`; request
/// `n` belongs to user `(n / 2) % users`, so each user does both.
pub struct Pages {
    users: Vec<HttpUser>,
}

impl Pages {
    pub fn new(users: Vec<HttpUser>) -> Pages {
        Pages { users }
    }
}

impl Workload for Pages {
    fn operations(&self) -> &[&'static str] {
        &["home", "api_me"]
    }

    fn call(&self, n: u64) -> (usize, BoxFuture<'static, Result<(), String>>) {
        let user = &self.users[((n / 2) % self.users.len() as u64) as usize];
        if n.is_multiple_of(2) {
            let request = user.page(HOME);
            (0, Box::pin(clients::expect(request, StatusCode::OK)))
        } else {
            let request = user.api_get(ME);
            (1, Box::pin(clients::expect(request, StatusCode::OK)))
        }
    }
}

/// Signs the users in, then runs the pages workload as the options say.
pub async fn run(args: PagesArgs) -> anyhow::Result<Summary> {
    let args = args.load;
    args.check()?;
    let out = Output { json: args.json };
    let users = args.signed_in_users(&out).await?;
    let workload = Pages::new(users.clone());
    run::drive("pages", &args, &users, workload, &out).await
}
