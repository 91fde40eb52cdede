//! Capture of the servers' logs, for the tests that grep them for secrets.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut logs) = self.0.lock() {
            logs.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once per test process) a JSON subscriber like production's,
/// at debug level, writing into memory.
pub fn init_log_capture() {
    let buffer = LOGS.get_or_init(|| Arc::new(Mutex::new(Vec::new()))).clone();
    let writer = CaptureWriter(buffer);
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_env_filter("debug")
        .with_writer(move || writer.clone())
        .try_init();
}

/// Everything logged so far by every server in this process.
pub fn captured_logs() -> String {
    LOGS.get()
        .map(|l| String::from_utf8_lossy(&l.lock().expect("logs")).into_owned())
        .unwrap_or_default()
}
