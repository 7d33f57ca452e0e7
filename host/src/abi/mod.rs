//! The `gmp` import module: the guest ABI of `wit/`, one file per interface.
//!
//! Every function follows the same three steps, so that bad input never has an effect:
//! 1. **Check.** Every pointer and length is checked against the G's memory, every handle against its
//!    table, *before* anything happens. A failure is an [`abi_error`] naming the call, which traps the G.
//! 2. **Act.** The channel or scheduler operation; the only step that may park the G.
//! 3. **Deliver.** Copy results back into memory checked in step 1 (memory never shrinks, so the check
//!    still holds after a park).
//!
//! Blocking functions (`chan_send`, `chan_recv`, `select`, `yield`) are async host functions: when they
//! park, the G's fiber suspends and its M runs another G. Everything else is a plain sync host function,
//! an order of magnitude cheaper to call.

use std::ops::Range;

use wasmtime::{Caller, Linker};

use crate::gstore::GData;
use crate::handles::{HandleError, Msg, Object};
use crate::limits::LimitExceeded;

mod chan;
mod handle;
mod net;
mod sched;
mod select;
mod sync;
mod time;

/// The wasm module name the guest imports from.
pub const MODULE: &str = "gmp";

/// Most handles one message may carry.
pub const MAX_HANDLES_PER_MSG: usize = 1024;

/// `recv-status` of `wit/chan.wit`.
pub(crate) const RECV_OK: i32 = 0;
pub(crate) const RECV_PENDING: i32 = 1;
pub(crate) const RECV_CLOSED: i32 = 2;
pub(crate) const RECV_WOULD_BLOCK: i32 = 3;

/// Add every `gmp` function to `linker`.
///
/// # Errors
/// Only if a name is defined twice (a bug of ours).
pub fn add_to_linker(linker: &mut Linker<GData>) -> wasmtime::Result<()> {
    sched::add(linker)?;
    chan::add(linker)?;
    select::add(linker)?;
    handle::add(linker)?;
    time::add(linker)?;
    sync::add(linker)?;
    net::add(linker)?;
    Ok(())
}

/// A trap naming the ABI call and what was wrong with its input.
pub(crate) fn abi_error(call: &str, detail: impl std::fmt::Display) -> wasmtime::Error {
    wasmtime::Error::msg(format!("gmp.{call}: {detail}"))
}

pub(crate) fn handle_error(call: &str, gid: u64, e: HandleError) -> wasmtime::Error {
    match e {
        HandleError::NotHeld(h) => abi_error(call, format!("handle {h} is not held by G {gid}")),
        HandleError::Limit(l) => wasmtime::Error::new(l.at(&format!("gmp.{call}"), gid)),
        other => abi_error(call, other),
    }
}

/// A limit crossed by `call` in G `gid`: the error the G ends with (see `limits.rs`).
pub(crate) fn limit_error(call: &str, gid: u64, e: LimitExceeded) -> wasmtime::Error {
    wasmtime::Error::new(e.at(&format!("gmp.{call}"), gid))
}

/// The G's memory and store data, borrowed together.
pub(crate) fn mem_and_data<'a>(
    caller: &'a mut Caller<'_, GData>,
    call: &str,
) -> wasmtime::Result<(&'a mut [u8], &'a mut GData)> {
    let mem = caller.data().memory.ok_or_else(|| abi_error(call, "called before the G's instance was ready"))?;
    Ok(mem.data_and_store_mut(caller))
}

// `region`'s arithmetic relies on it: u32 offsets times small sizes cannot overflow a 64-bit usize.
const _: () = assert!(usize::BITS >= 64, "wasm-gmp needs a 64-bit host");

/// Step 1 for one region: `count` elements of `size` bytes at `ptr`, inside a memory of `mem_len` bytes.
#[inline]
pub(crate) fn region(
    mem_len: usize,
    ptr: i32,
    count: i32,
    size: usize,
    call: &str,
    what: &str,
) -> wasmtime::Result<Range<usize>> {
    let (p, n) = (ptr as u32 as usize, count as u32 as usize);
    // On 64-bit hosts neither product nor sum of two u32-sized values can overflow a usize.
    let end = p + n * size;
    if end <= mem_len { Ok(p..end) } else { Err(out_of_bounds(mem_len, p, n, size, call, what)) }
}

#[cold]
#[inline(never)]
fn out_of_bounds(mem_len: usize, p: usize, n: usize, size: usize, call: &str, what: &str) -> wasmtime::Error {
    abi_error(call, format!("{what} at {p:#x} ({n} x {size} bytes) is outside the G's {mem_len}-byte memory"))
}

pub(crate) fn read_u32(mem: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(mem[at..at + 4].try_into().expect("4 bytes"))
}

pub(crate) fn write_u32s(mem: &mut [u8], at: usize, vals: &[u32]) {
    for (i, v) in vals.iter().enumerate() {
        mem[at + 4 * i..at + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
}

/// Step 1 and the copy of a message the G sends: `len` bytes at `ptr` and `nh` handles at `hptr`. The
/// handles are looked up (and the objects referenced) now, so the message owns what it carries.
#[allow(clippy::too_many_arguments, reason = "the ABI's own argument list")]
pub(crate) fn read_msg(
    mem: &[u8],
    data: &GData,
    ptr: i32,
    len: i32,
    hptr: i32,
    nh: i32,
    call: &str,
) -> wasmtime::Result<Msg> {
    if nh as u32 as usize > MAX_HANDLES_PER_MSG {
        return Err(abi_error(
            call,
            format!("{} handles in one message; the limit is {MAX_HANDLES_PER_MSG}", nh as u32),
        ));
    }
    let bytes = region(mem.len(), ptr, len, 1, call, "the message")?;
    let hs = region(mem.len(), hptr, nh, 4, call, "the handle list")?;
    // Charged before the copy: the copy is the host memory the limit bounds. Also checks `max_message`.
    let charge =
        data.run.limits.charge_msg(bytes.len(), nh as u32 as usize).map_err(|e| limit_error(call, data.gid, e))?;
    let mut objs = Vec::with_capacity(nh as usize);
    for at in hs.step_by(4) {
        let h = read_u32(mem, at);
        objs.push(data.handles.get(h).map_err(|e| handle_error(call, data.gid, e))?.clone());
    }
    Ok(Msg::charged(&mem[bytes], objs, charge))
}

/// Where a received message goes: a byte buffer and a handle buffer, both checked (step 1).
#[derive(Clone)]
pub(crate) struct RecvBuf {
    buf: Range<usize>,
    hbuf: Range<usize>,
}

impl RecvBuf {
    pub(crate) fn check(
        mem_len: usize,
        buf: i32,
        cap: i32,
        hbuf: i32,
        hcap: i32,
        call: &str,
    ) -> wasmtime::Result<RecvBuf> {
        Ok(RecvBuf {
            buf: region(mem_len, buf, cap, 1, call, "the receive buffer")?,
            hbuf: region(mem_len, hbuf, hcap, 4, call, "the handle buffer")?,
        })
    }

    /// Step 3: write `msg` into the buffers if it fits (status `RECV_OK`), else keep it as the G's pending
    /// message (`RECV_PENDING`). Returns the status, the length and the handle count.
    pub(crate) fn deliver(
        &self,
        mem: &mut [u8],
        data: &mut GData,
        mut msg: Msg,
        call: &str,
    ) -> wasmtime::Result<(i32, u32, u32)> {
        let (len, nh) = (msg.bytes.len(), msg.objs.len());
        if len > self.buf.len() || nh * 4 > self.hbuf.len() {
            data.pending = Some(Box::new(msg));
            return Ok((RECV_PENDING, len as u32, nh as u32));
        }
        mem[self.buf.start..self.buf.start + len].copy_from_slice(&msg.bytes);
        install(mem, data, msg.take_objs(), self.hbuf.start, call)?;
        Ok((RECV_OK, len as u32, nh as u32))
    }
}

/// Put received objects in the G's table and write their new handle numbers at `at`.
pub(crate) fn install(
    mem: &mut [u8],
    data: &mut GData,
    objs: Vec<Object>,
    at: usize,
    call: &str,
) -> wasmtime::Result<()> {
    for (i, obj) in objs.into_iter().enumerate() {
        let h = data.handles.insert(obj).map_err(|e| handle_error(call, data.gid, e))?;
        write_u32s(mem, at + 4 * i, &[h]);
    }
    Ok(())
}

/// A receive must not overwrite a message the G has not taken yet.
pub(crate) fn check_no_pending(data: &GData, call: &str) -> wasmtime::Result<()> {
    if data.pending.is_some() {
        return Err(abi_error(call, "the G still holds a pending message; take it with msg_take first"));
    }
    Ok(())
}
