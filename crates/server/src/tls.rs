//! HTTPS without a reverse proxy: the certificate and key files named in the settings,
//! served with rustls.

use std::path::Path;

use anyhow::Context as _;
use axum_server::tls_rustls::RustlsConfig;

/// Chooses rustls' cryptography for the whole process. Both `ring` and `aws-lc-rs` end up
/// compiled in (the database driver wants one, the object store the other), and rustls
/// then refuses to guess, so every TLS user (HTTPS here, OIDC, SMTP, S3) needs this to
/// have run first. Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Reads the PEM certificate chain and private key, with errors that name the file.
pub async fn load(cert: &Path, key: &Path) -> anyhow::Result<RustlsConfig> {
    install_crypto_provider();
    for (setting, path) in [("tls_cert", cert), ("tls_key", key)] {
        anyhow::ensure!(
            path.is_file(),
            "{setting} = {} does not exist or is not a file",
            path.display()
        );
    }
    RustlsConfig::from_pem_file(cert, key)
        .await
        .with_context(|| {
            format!(
                "could not load the TLS certificate {} with key {}: both must be PEM files, \
             the certificate chain first and the matching private key",
                cert.display(),
                key.display()
            )
        })
}
