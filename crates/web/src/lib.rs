//! Pages, templates, translations and static assets shared by every studio.
