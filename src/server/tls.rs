//! The TLS set-up of `vault serve`: a PEM certificate chain and private key (RSA, or
//! EC in SEC1 or PKCS#8 form) checked and loaded into rustls before anything listens.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

use crate::error::{Error, Result};

/// The server configuration for `--tls-cert` and `--tls-key`; every problem is a
/// usage error naming the file and what it should hold.
pub fn server_config(cert_path: &Path, key_path: &Path) -> Result<Arc<ServerConfig>> {
    let cert_pem = read(cert_path)?;
    let key_pem = zeroize::Zeroizing::new(read(key_path)?);
    let unusable = |flag: &str, path: &Path, what: &str| {
        Error::Invalid(format!("{flag} {}: {what}", path.display()))
            .with_hint("give a PEM file (openssl writes one)")
    };
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| unusable("--tls-cert", cert_path, "not a readable PEM certificate"))?;
    if chain.is_empty() {
        return Err(unusable(
            "--tls-cert",
            cert_path,
            "holds no certificate (-----BEGIN CERTIFICATE-----)",
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| {
        unusable(
            "--tls-key",
            key_path,
            "holds no readable private key (PKCS#8, RSA or EC)",
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Other(format!("cannot set up TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map(Arc::new)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => Error::Invalid(format!(
                "--tls-key {} does not match the certificate in --tls-cert {}",
                key_path.display(),
                cert_path.display()
            )),
            other => unusable("--tls-key", key_path, &format!("unusable ({other})")),
        })
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io("read", path, e))
}
