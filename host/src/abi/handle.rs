//! `wit/handle.wit`: duplicating and releasing handles.

use wasmtime::{Caller, Linker};

use super::{MODULE, handle_error};
use crate::gstore::GData;

pub(super) fn add(linker: &mut Linker<GData>) -> wasmtime::Result<()> {
    linker.func_wrap(MODULE, "handle_dup", |mut caller: Caller<'_, GData>, h: i32| -> wasmtime::Result<i32> {
        let data = caller.data_mut();
        let gid = data.gid;
        let obj = data.handles.get(h as u32).map_err(|e| handle_error("handle_dup", gid, e))?.clone();
        let new = data.handles.insert(obj).map_err(|e| handle_error("handle_dup", gid, e))?;
        Ok(new as i32)
    })?;
    linker.func_wrap(MODULE, "handle_close", |mut caller: Caller<'_, GData>, h: i32| -> wasmtime::Result<()> {
        let data = caller.data_mut();
        let gid = data.gid;
        data.handles.remove(h as u32).map_err(|e| handle_error("handle_close", gid, e))?;
        // The commonest way a channel becomes garbage: its last handle goes while a buffer holds it.
        data.run.gc.poll();
        Ok(())
    })?;
    Ok(())
}
