//! Components as OCI artifacts: a layer of media type [`WASM_MEDIA_TYPE`] under a config of
//! [`CONFIG_MEDIA_TYPE`], plus, for components without an embedded manifest, the sidecar
//! manifest as a layer of [`SIDECAR_MEDIA_TYPE`]. Signatures live beside the artifact in the
//! cosign layout (`spud-trust`). Plain HTTP only for loopback registries.

use super::auth::Credentials;
use super::error::DistError;
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{OciDescriptor, OciImageManifest, OCI_IMAGE_MEDIA_TYPE};
use oci_client::{Client, Reference};
use spud_trust::{OciRef, Signed};
use std::collections::BTreeMap;
use std::time::Duration;

/// The component layer.
pub const WASM_MEDIA_TYPE: &str = "application/wasm";
/// The artifact's config.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The sidecar manifest layer (`NAME.spud.toml`).
pub const SIDECAR_MEDIA_TYPE: &str = "application/vnd.spud.manifest.v1+toml";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const EMPTY_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// What a pull brought.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The component.
    pub component: Vec<u8>,
    /// The sidecar manifest, when the artifact has one.
    pub sidecar: Option<Vec<u8>>,
    /// The OCI manifest's digest (what a tag resolved to; what signatures sign).
    pub manifest_digest: String,
}

/// A client for one registry.
pub struct Oci {
    client: Client,
    auth: Credentials,
    registry: String,
}

impl Oci {
    /// A client for `r`'s registry: plain HTTP if it is a loopback address, TLS otherwise.
    pub fn new(r: &OciRef, auth: Credentials) -> Oci {
        let protocol = if r.is_loopback() {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        };
        let config = ClientConfig {
            protocol,
            connect_timeout: Some(Duration::from_secs(15)),
            read_timeout: Some(Duration::from_secs(60)),
            platform_resolver: None,
            ..ClientConfig::default()
        };
        Oci {
            client: Client::new(config),
            auth,
            registry: r.registry.clone(),
        }
    }

    fn reference(&self, r: &OciRef) -> Reference {
        match (&r.tag, &r.digest) {
            (_, Some(d)) => {
                Reference::with_digest(self.registry.clone(), r.repository.clone(), d.clone())
            }
            (Some(t), None) => {
                Reference::with_tag(self.registry.clone(), r.repository.clone(), t.clone())
            }
            (None, None) => {
                Reference::with_tag(self.registry.clone(), r.repository.clone(), "latest".into())
            }
        }
    }

    fn err(
        &self,
        r: &OciRef,
    ) -> impl Fn(oci_client::errors::OciDistributionError) -> DistError + '_ {
        let reference = r.to_string();
        move |e| DistError::from_oci(&self.registry, &reference, e)
    }

    /// The manifest `r` names (raw bytes checked against the digest asked for) and its digest.
    pub async fn manifest(&self, r: &OciRef) -> Result<(OciImageManifest, String), DistError> {
        let reference = self.reference(r);
        let (raw, _) = self
            .client
            .pull_manifest_raw(
                &reference,
                &self.auth.0,
                &[OCI_IMAGE_MEDIA_TYPE, DOCKER_MANIFEST],
            )
            .await
            .map_err(self.err(r))?;
        let digest = spud_trust::sha256_digest(&raw);
        if let Some(asked) = &r.digest {
            if *asked != digest {
                return Err(DistError::DigestMismatch {
                    what: format!("the manifest of {r}"),
                    expected: asked.clone(),
                    actual: digest,
                });
            }
        }
        let manifest: OciImageManifest =
            serde_json::from_slice(&raw).map_err(|e| DistError::Garbage {
                reference: r.to_string(),
                reason: format!("the manifest is not an OCI image manifest: {e}"),
            })?;
        Ok((manifest, digest))
    }

    async fn blob(&self, r: &OciRef, layer: &OciDescriptor) -> Result<Vec<u8>, DistError> {
        let mut out = Vec::new();
        self.client
            .pull_blob(&self.reference(r), layer, &mut out)
            .await
            .map_err(self.err(r))?;
        let actual = spud_trust::sha256_digest(&out);
        if actual != layer.digest {
            return Err(DistError::DigestMismatch {
                what: format!("a layer of {r}"),
                expected: layer.digest.clone(),
                actual,
            });
        }
        Ok(out)
    }

    /// Pulls the component (and its sidecar manifest) that `r` names.
    pub async fn pull(&self, r: &OciRef) -> Result<Pulled, DistError> {
        let (manifest, manifest_digest) = self.manifest(r).await?;
        let wasm: Vec<&OciDescriptor> = manifest
            .layers
            .iter()
            .filter(|l| l.media_type == WASM_MEDIA_TYPE)
            .collect();
        let [wasm] = wasm.as_slice() else {
            let types: Vec<&str> = manifest
                .layers
                .iter()
                .map(|l| l.media_type.as_str())
                .collect();
            return Err(DistError::MediaType {
                reference: r.to_string(),
                reason: format!(
                    "it needs exactly one layer of media type {WASM_MEDIA_TYPE}, and has layers of [{}]",
                    types.join(", ")
                ),
            });
        };
        let component = self.blob(r, wasm).await?;
        let sidecar = match manifest
            .layers
            .iter()
            .find(|l| l.media_type == SIDECAR_MEDIA_TYPE)
        {
            Some(l) => Some(self.blob(r, l).await?),
            None => None,
        };
        Ok(Pulled {
            component,
            sidecar,
            manifest_digest,
        })
    }

    /// Publishes `component` (and `sidecar`) at `r`'s tag; returns the manifest digest.
    pub async fn push(
        &self,
        r: &OciRef,
        component: Vec<u8>,
        sidecar: Option<Vec<u8>>,
    ) -> Result<String, DistError> {
        let mut layers = vec![ImageLayer::new(component, WASM_MEDIA_TYPE.into(), None)];
        if let Some(s) = sidecar {
            layers.push(ImageLayer::new(s, SIDECAR_MEDIA_TYPE.into(), None));
        }
        let config = Config::new(b"{}".to_vec(), CONFIG_MEDIA_TYPE.into(), None);
        self.push_layers(r, layers, config).await
    }

    async fn push_layers(
        &self,
        r: &OciRef,
        layers: Vec<ImageLayer>,
        config: Config,
    ) -> Result<String, DistError> {
        let manifest = OciImageManifest::build(&layers, &config, None);
        let tagged = OciRef {
            digest: None,
            ..r.clone()
        };
        self.client
            .push(
                &self.reference(&tagged),
                &layers,
                config,
                &self.auth.0,
                Some(manifest),
            )
            .await
            .map_err(self.err(r))?;
        // The digest of the bytes the registry now serves at the tag.
        let (_, digest) = self.manifest(&tagged).await?;
        Ok(digest)
    }

    /// The signatures stored for manifest `digest` of `r`'s repository (none: empty).
    pub async fn signatures(&self, r: &OciRef, digest: &str) -> Result<Vec<Signed>, DistError> {
        let (_, layers) = self.signature_layers(r, digest).await?;
        Ok(layers
            .into_iter()
            .filter_map(|l| {
                let signature = l
                    .annotations?
                    .get(spud_trust::SIGNATURE_ANNOTATION)?
                    .clone();
                Some(Signed {
                    payload: l.data,
                    signature,
                })
            })
            .collect())
    }

    async fn signature_layers(
        &self,
        r: &OciRef,
        digest: &str,
    ) -> Result<(OciRef, Vec<ImageLayer>), DistError> {
        let sig_ref = r.with_tag(&spud_trust::signature_tag(digest));
        let manifest = match self.manifest(&sig_ref).await {
            Ok((m, _)) => m,
            Err(DistError::NotFound { .. }) => return Ok((sig_ref, Vec::new())),
            Err(e) => return Err(e),
        };
        let mut layers = Vec::new();
        for l in manifest
            .layers
            .iter()
            .filter(|l| l.media_type == spud_trust::SIMPLE_SIGNING_MEDIA_TYPE)
        {
            let data = self.blob(&sig_ref, l).await?;
            layers.push(ImageLayer::new(
                data,
                l.media_type.clone(),
                l.annotations.clone(),
            ));
        }
        Ok((sig_ref, layers))
    }

    /// Stores `signed` beside manifest `digest` (added to the signatures already there).
    pub async fn push_signature(
        &self,
        r: &OciRef,
        digest: &str,
        signed: Signed,
    ) -> Result<String, DistError> {
        let (sig_ref, mut layers) = self.signature_layers(r, digest).await?;
        let annotations = BTreeMap::from([(
            spud_trust::SIGNATURE_ANNOTATION.to_string(),
            signed.signature,
        )]);
        layers.push(ImageLayer::new(
            signed.payload,
            spud_trust::SIMPLE_SIGNING_MEDIA_TYPE.into(),
            Some(annotations),
        ));
        let config = Config::new(b"{}".to_vec(), EMPTY_CONFIG.into(), None);
        self.push_layers(&sig_ref, layers, config).await
    }
}
