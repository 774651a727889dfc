//! What every page and API response has in common: the problem+json error type, the
//! request extractors that turn bad input into such errors, translations (Fluent, English
//! and Hebrew shipped), the page templates and the static assets (one stylesheet, small ES
//! modules), all embedded in the binary.
//!
//! Studios add their own templates and message files to the one [`Web`] the server
//! builds, and render through it, so every page shares one layout and one language choice.

pub mod assets;
pub mod extract;
pub mod i18n;
pub mod problem;
pub mod render;
pub mod text;

pub use extract::{Form, Json, Object, Query};
pub use i18n::{I18n, Lang};
pub use problem::Problem;
pub use render::{PageCtx, Web};
