//! What can go wrong talking to a registry or a download server.

/// A pull, push or download that failed. Nothing is registered when one happens.
#[derive(Debug, thiserror::Error)]
pub enum DistError {
    /// The registry or server cannot be reached (down, refused, timed out, TLS failure).
    #[error("cannot reach {target}: {reason}")]
    Unreachable {
        /// Registry or URL.
        target: String,
        /// Why.
        reason: String,
    },
    /// The reference or URL does not exist there.
    #[error("{reference} was not found in the registry")]
    NotFound {
        /// What was asked for.
        reference: String,
    },
    /// The registry refused the credentials (or asked for some and none were given).
    #[error("the registry refused access to {reference}: {reason}; set SPUD_REGISTRY_USER and SPUD_REGISTRY_PASSWORD (or SPUD_REGISTRY_TOKEN), or pass --registry-auth FILE")]
    Auth {
        /// What was asked for.
        reference: String,
        /// The registry's message.
        reason: String,
    },
    /// The registry answered with something that is not a usable OCI manifest or blob.
    #[error("{reference}: the registry returned garbage: {reason}")]
    Garbage {
        /// What was asked for.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The artifact is not a Wasm component artifact.
    #[error("{reference} is not a Wasm component artifact: {reason}")]
    MediaType {
        /// What was asked for.
        reference: String,
        /// What it holds instead.
        reason: String,
    },
    /// Content whose digest is not the one it was asked for by.
    #[error("{what}: expected digest {expected}, got {actual}: refused")]
    DigestMismatch {
        /// What was fetched.
        what: String,
        /// The digest asked for.
        expected: String,
        /// The digest of what came.
        actual: String,
    },
    /// A credentials file that cannot be used.
    #[error("registry credentials file {file}: {reason}")]
    AuthFile {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// Any other registry failure.
    #[error("{reference}: {reason}")]
    Other {
        /// What was asked for.
        reference: String,
        /// The message.
        reason: String,
    },
}

impl DistError {
    /// Classifies an OCI client error for `reference` on `registry`.
    pub(super) fn from_oci(
        registry: &str,
        reference: &str,
        e: oci_client::errors::OciDistributionError,
    ) -> DistError {
        use oci_client::errors::OciDistributionError as E;
        let reference = reference.to_string();
        match e {
            E::RequestError(r) if r.is_connect() || r.is_timeout() || r.is_request() => {
                DistError::Unreachable {
                    target: registry.to_string(),
                    reason: error_chain(&r),
                }
            }
            E::ImageManifestNotFoundError(_) => DistError::NotFound { reference },
            E::ServerError { code: 404, .. } => DistError::NotFound { reference },
            E::RegistryError { ref envelope, .. }
                if envelope.errors.iter().any(|x| {
                    matches!(
                        x.code,
                        oci_client::errors::OciErrorCode::ManifestUnknown
                            | oci_client::errors::OciErrorCode::NameUnknown
                            | oci_client::errors::OciErrorCode::BlobUnknown
                    )
                }) =>
            {
                DistError::NotFound { reference }
            }
            E::AuthenticationFailure(reason) => DistError::Auth { reference, reason },
            E::UnauthorizedError { url } => DistError::Auth {
                reference,
                reason: format!("not authorized for {url}"),
            },
            E::ServerError {
                code: 401 | 403,
                message,
                ..
            } => DistError::Auth {
                reference,
                reason: message,
            },
            E::RegistryError { ref envelope, .. }
                if envelope.errors.iter().any(|x| {
                    matches!(
                        x.code,
                        oci_client::errors::OciErrorCode::Unauthorized
                            | oci_client::errors::OciErrorCode::Denied
                    )
                }) =>
            {
                DistError::Auth {
                    reason: e.to_string(),
                    reference,
                }
            }
            E::DigestError(d) => DistError::Garbage {
                reference,
                reason: d.to_string(),
            },
            e @ (E::JsonError(_)
            | E::ManifestEncodingError(_)
            | E::ManifestParsingError(_)
            | E::SpecViolationError(_)
            | E::RequestError(_)) => DistError::Garbage {
                reference,
                reason: e.to_string(),
            },
            other => DistError::Other {
                reference,
                reason: other.to_string(),
            },
        }
    }
}

/// An error with its sources, on one line.
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
