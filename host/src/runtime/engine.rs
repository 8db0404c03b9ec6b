//! The wasmtime engine spud runs every component on: pooling allocator, fuel metering for
//! deterministic CPU budgets, epoch interruption for wall-clock deadlines.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances. Deadlines are checked at this granularity.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Largest linear memory any instance may have (the pool reserves this per slot).
pub const MAX_MEMORY_BYTES: usize = 1 << 30;

/// An engine plus the thread that advances its epoch.
#[derive(Clone)]
pub struct SpudEngine {
    engine: Engine,
    _ticker: Arc<Ticker>,
}

struct Ticker {
    stop: Arc<AtomicBool>,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl SpudEngine {
    /// Builds the engine and starts the epoch ticker.
    pub fn new() -> anyhow::Result<SpudEngine> {
        let engine = Engine::new(&config(true))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (e, s) = (engine.weak(), stop.clone());
        std::thread::Builder::new()
            .name("spud-epoch".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match e.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })?;
        Ok(SpudEngine {
            engine,
            _ticker: Arc::new(Ticker { stop }),
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A short hex key that changes whenever precompiled artifacts stop being loadable by this
    /// engine (wasmtime version, compiler settings, target).
    pub fn compatibility_key(&self) -> String {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut h);
        env!("CARGO_PKG_VERSION").hash(&mut h);
        format!("{:016x}", h.finish())
    }
}

/// spud's engine configuration. `fuel` switches fuel metering (always on in spud; off only to
/// measure what metering costs).
pub fn config(fuel: bool) -> Config {
    let mut c = Config::new();
    c.wasm_component_model(true);
    c.consume_fuel(fuel);
    c.epoch_interruption(true);
    // Deep recursion traps with a stack overflow instead of exhausting the host thread.
    c.max_wasm_stack(1 << 20);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(1000)
        .total_core_instances(2000)
        .total_memories(1000)
        .total_tables(2000)
        .total_stacks(1000)
        .max_memory_size(MAX_MEMORY_BYTES)
        .max_core_instances_per_component(50)
        .max_memories_per_component(50)
        .max_tables_per_component(50);
    c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    c
}
