//! `wit/sync.wit`: atomic integers as runtime objects, so Gs that share no memory can share a counter.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use wasmtime::{Caller, Linker};

use super::{MODULE, abi_error, handle_error};
use crate::gstore::GData;
use crate::handles::Object;

pub(super) fn add(linker: &mut Linker<GData>) -> wasmtime::Result<()> {
    linker.func_wrap(MODULE, "atomic_new", |mut caller: Caller<'_, GData>, init: i64| -> wasmtime::Result<i32> {
        let data = caller.data_mut();
        let gid = data.gid;
        let obj = Object::Atomic(Arc::new(AtomicU64::new(init as u64)));
        Ok(data.handles.insert(obj).map_err(|e| handle_error("atomic_new", gid, e))? as i32)
    })?;
    linker.func_wrap(
        MODULE,
        "atomic_op",
        |caller: Caller<'_, GData>, h: i32, op: i32, a: i64, b: i64| -> wasmtime::Result<i64> {
            let data = caller.data();
            let cell = data.handles.atomic(h as u32).map_err(|e| handle_error("atomic_op", data.gid, e))?;
            let (a, b) = (a as u64, b as u64);
            let r = match op {
                0 => cell.load(SeqCst),
                1 => {
                    cell.store(a, SeqCst);
                    0
                }
                2 => cell.fetch_add(a, SeqCst).wrapping_add(a),
                3 => cell.swap(a, SeqCst),
                4 => u64::from(cell.compare_exchange(a, b, SeqCst, SeqCst).is_ok()),
                5 => cell.fetch_and(a, SeqCst),
                6 => cell.fetch_or(a, SeqCst),
                _ => return Err(abi_error("atomic_op", format!("unknown operation {op} (0 to 6, see wit/sync.wit)"))),
            };
            Ok(r as i64)
        },
    )?;
    Ok(())
}
