//! `wit/chan.wit`: channels.

use gmp_sched::{TryRecvError, TrySendError};
use wasmtime::{Caller, Linker};

use super::{
    MODULE, RECV_CLOSED, RECV_WOULD_BLOCK, RecvBuf, abi_error, check_no_pending, handle_error, mem_and_data, read_msg,
    region, write_u32s,
};
use crate::dump::parked;
use crate::gstore::{GData, GuestPanic};
use crate::handles::{ChanRef, HostChan, Object};

/// Step 1 of a receive, after the handle: no pending message, the buffers, the info struct (8 bytes).
#[allow(clippy::too_many_arguments, reason = "the ABI's own argument list")]
fn check_recv_buffers(
    mem_len: usize,
    data: &GData,
    call: &str,
    buf: i32,
    cap: i32,
    hbuf: i32,
    hcap: i32,
    info: i32,
) -> wasmtime::Result<(RecvBuf, usize)> {
    check_no_pending(data, call)?;
    let rb = RecvBuf::check(mem_len, buf, cap, hbuf, hcap, call)?;
    let info = region(mem_len, info, 2, 4, call, "the receive info")?;
    Ok((rb, info.start))
}

/// The channel behind `h`, borrowed: the synchronous calls use it in place. Cloning the `Arc` on every
/// call would make a sender and a receiver on two cores fight over its reference count's cache line.
fn chan_ref<'a>(data: &'a GData, h: i32, call: &str) -> wasmtime::Result<&'a ChanRef> {
    data.handles.chan(h as u32).map_err(|e| handle_error(call, data.gid, e))
}

/// The channel behind `h`, owned: a blocking call holds it across parking.
fn chan(data: &GData, h: i32, call: &str) -> wasmtime::Result<ChanRef> {
    chan_ref(data, h, call).cloned()
}

fn send_on_closed() -> wasmtime::Error {
    wasmtime::Error::new(GuestPanic("send on closed channel"))
}

pub(super) fn add(linker: &mut Linker<GData>) -> wasmtime::Result<()> {
    linker.func_wrap(
        MODULE,
        "chan_lookup",
        |mut caller: Caller<'_, GData>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
            let call = "chan_lookup";
            let (mem, data) = mem_and_data(&mut caller, call)?;
            let name = region(mem.len(), ptr, len, 1, call, "the name")?;
            let Some(c) = data.run.opts.chans.iter().find(|c| c.name.as_bytes() == &mem[name.clone()]) else {
                return Ok(0);
            };
            let ch = c.ch.clone();
            let h = data.handles.insert(Object::Chan(ch)).map_err(|e| handle_error(call, data.gid, e))?;
            Ok(h as i32)
        },
    )?;
    linker.func_wrap(MODULE, "chan_new", |mut caller: Caller<'_, GData>, cap: i32| -> wasmtime::Result<i32> {
        if cap < 0 {
            return Err(abi_error("chan_new", format!("negative capacity {cap}")));
        }
        let data = caller.data_mut();
        let chan = HostChan::new(cap as usize, &data.run.gc);
        let h = data.handles.insert(Object::Chan(chan)).map_err(|e| handle_error("chan_new", data.gid, e))?;
        Ok(h as i32)
    })?;

    linker.func_wrap_async(
        MODULE,
        "chan_send",
        |mut caller: Caller<'_, GData>, (h, ptr, len, hptr, nh): (i32, i32, i32, i32, i32)| {
            Box::new(async move {
                let call = "chan_send";
                let (ch, msg) = {
                    let (mem, data) = mem_and_data(&mut caller, call)?;
                    let ch = chan(data, h, call)?;
                    (ch, read_msg(mem, data, ptr, len, hptr, nh, call)?)
                };
                let id = [ch.chan().id()];
                let res = parked(&mut caller, &id, ch.send(msg)).await.map_err(|_| send_on_closed());
                drop(ch);
                caller.data().run.gc.poll();
                res
            })
        },
    )?;

    linker.func_wrap(
        MODULE,
        "chan_try_send",
        |mut caller: Caller<'_, GData>, h: i32, ptr: i32, len: i32, hptr: i32, nh: i32| -> wasmtime::Result<i32> {
            let call = "chan_try_send";
            let (mem, data) = mem_and_data(&mut caller, call)?;
            let ch = chan_ref(data, h, call)?;
            let msg = read_msg(mem, data, ptr, len, hptr, nh, call)?;
            let res = match ch.try_send(msg) {
                Ok(()) => Ok(1),
                Err(TrySendError::Full(_)) => Ok(0),
                Err(TrySendError::Closed(_)) => Err(send_on_closed()),
            };
            data.run.gc.poll();
            res
        },
    )?;

    linker.func_wrap_async(
        MODULE,
        "chan_recv",
        |mut caller: Caller<'_, GData>, (h, buf, cap, hbuf, hcap, info): (i32, i32, i32, i32, i32, i32)| {
            Box::new(async move {
                let call = "chan_recv";
                let (ch, (rb, info_at)) = {
                    let (mem, data) = mem_and_data(&mut caller, call)?;
                    (chan(data, h, call)?, check_recv_buffers(mem.len(), data, call, buf, cap, hbuf, hcap, info)?)
                };
                let id = [ch.chan().id()];
                let res = parked(&mut caller, &id, ch.recv()).await;
                drop(ch);
                let (mem, data) = mem_and_data(&mut caller, call)?;
                data.run.gc.poll();
                match res {
                    Ok(msg) => {
                        let (status, len, nh) = rb.deliver(mem, data, msg, call)?;
                        write_u32s(mem, info_at, &[len, nh]);
                        Ok(status)
                    }
                    Err(_closed) => Ok(RECV_CLOSED),
                }
            })
        },
    )?;

    linker.func_wrap(
        MODULE,
        "chan_try_recv",
        |mut caller: Caller<'_, GData>,
         h: i32,
         buf: i32,
         cap: i32,
         hbuf: i32,
         hcap: i32,
         info: i32|
         -> wasmtime::Result<i32> {
            let call = "chan_try_recv";
            let (mem, data) = mem_and_data(&mut caller, call)?;
            let ch = chan_ref(data, h, call)?;
            // Every check before the attempt: a bad buffer must not cost the channel a message.
            let (rb, info_at) = check_recv_buffers(mem.len(), data, call, buf, cap, hbuf, hcap, info)?;
            let res = ch.try_recv();
            data.run.gc.poll();
            match res {
                Ok(msg) => {
                    let (status, len, nh) = rb.deliver(mem, data, msg, call)?;
                    write_u32s(mem, info_at, &[len, nh]);
                    Ok(status)
                }
                Err(TryRecvError::Closed) => Ok(RECV_CLOSED),
                Err(TryRecvError::Empty) => Ok(RECV_WOULD_BLOCK),
            }
        },
    )?;

    linker.func_wrap(MODULE, "chan_close", |caller: Caller<'_, GData>, h: i32| -> wasmtime::Result<()> {
        let ch = chan_ref(caller.data(), h, "chan_close")?;
        let res = ch.close().map_err(|_| wasmtime::Error::new(GuestPanic("close of closed channel")));
        caller.data().run.gc.poll();
        res
    })?;
    linker.func_wrap(MODULE, "chan_len", |caller: Caller<'_, GData>, h: i32| -> wasmtime::Result<i32> {
        Ok(chan(caller.data(), h, "chan_len")?.len() as i32)
    })?;
    linker.func_wrap(MODULE, "chan_cap", |caller: Caller<'_, GData>, h: i32| -> wasmtime::Result<i32> {
        Ok(chan(caller.data(), h, "chan_cap")?.cap() as i32)
    })?;
    linker.func_wrap(MODULE, "chan_id", |caller: Caller<'_, GData>, h: i32| -> wasmtime::Result<i64> {
        Ok(chan_ref(caller.data(), h, "chan_id")?.chan().id() as i64)
    })?;
    Ok(())
}
