//! `wit/select.wit`: Go's select over any mix of send and receive cases.

use crate::dump::parked;
use gmp_sched::{Case, Selected};
use wasmtime::{Caller, Linker};

use super::{
    MODULE, RECV_CLOSED, RecvBuf, abi_error, check_no_pending, handle_error, mem_and_data, read_msg, read_u32, region,
    write_u32s,
};
use crate::gstore::{GData, GuestPanic};
use crate::handles::{ChanRef, Msg};

/// Bytes per case in guest memory: handle, kind, ptr, len, hptr, hlen.
const CASE_SIZE: usize = 24;
/// Most cases in one select: far beyond any hand-written select, small enough to bound the host's work.
const MAX_CASES: u32 = 4096;
const KIND_SEND: u32 = 0;
const KIND_RECV: u32 = 1;

/// A case after step 1: its channel and either the message to send or where a received one goes.
struct Checked {
    chan: ChanRef,
    op: Op,
}

enum Op {
    Send(Msg),
    Recv(RecvBuf),
}

pub(super) fn add(linker: &mut Linker<GData>) -> wasmtime::Result<()> {
    linker.func_wrap_async(
        MODULE,
        "select",
        |mut caller: Caller<'_, GData>, (cases_ptr, ncases, block, info): (i32, i32, i32, i32)| {
            Box::new(async move {
                let call = "select";
                let (checked, info_at) = {
                    let (mem, data) = mem_and_data(&mut caller, call)?;
                    if ncases as u32 > MAX_CASES {
                        return Err(abi_error(call, format!("{} cases; the limit is {MAX_CASES}", ncases as u32)));
                    }
                    let cases = region(mem.len(), cases_ptr, ncases, CASE_SIZE, call, "the case array")?;
                    let info = region(mem.len(), info, 3, 4, call, "the select info")?;
                    let mut checked = Vec::with_capacity(ncases as usize);
                    for (i, at) in cases.step_by(CASE_SIZE).enumerate() {
                        let f = |k: usize| read_u32(mem, at + 4 * k);
                        let (h, kind, ptr, len, hptr, hlen) =
                            (f(0), f(1), f(2) as i32, f(3) as i32, f(4) as i32, f(5) as i32);
                        let chan = data.handles.chan(h).cloned().map_err(|e| handle_error(call, data.gid, e))?;
                        let op = match kind {
                            KIND_SEND => Op::Send(read_msg(mem, data, ptr, len, hptr, hlen, call)?),
                            KIND_RECV => {
                                check_no_pending(data, call)?;
                                Op::Recv(RecvBuf::check(mem.len(), ptr, len, hptr, hlen, call)?)
                            }
                            other => {
                                return Err(abi_error(
                                    call,
                                    format!("case {i} has kind {other} (0 = send, 1 = receive)"),
                                ));
                            }
                        };
                        checked.push(Checked { chan, op });
                    }
                    (checked, info.start)
                };

                let mut bufs: Vec<Option<RecvBuf>> = Vec::with_capacity(checked.len());
                let mut chans: Vec<ChanRef> = Vec::with_capacity(checked.len());
                let mut msgs: Vec<Option<Msg>> = Vec::with_capacity(checked.len());
                for c in checked {
                    chans.push(c.chan);
                    match c.op {
                        Op::Send(m) => {
                            msgs.push(Some(m));
                            bufs.push(None);
                        }
                        Op::Recv(b) => {
                            msgs.push(None);
                            bufs.push(Some(b));
                        }
                    }
                }
                let cases: Vec<Case<'_, Msg>> = chans
                    .iter()
                    .zip(msgs.iter_mut())
                    .map(|(ch, m)| match m.take() {
                        Some(m) => Case::Send(&**ch, m),
                        None => Case::Recv(&**ch),
                    })
                    .collect();
                let ids: Vec<u64> = chans.iter().map(|c| c.chan().id()).collect();
                let selected = parked(&mut caller, &ids, gmp_sched::select(cases, block != 0)).await;
                drop(chans);

                let (mem, data) = mem_and_data(&mut caller, call)?;
                data.run.gc.poll();
                match selected {
                    Selected::Default => Ok(-1),
                    Selected::Sent(i) => {
                        write_u32s(mem, info_at, &[0, 0, 0]);
                        Ok(i as i32)
                    }
                    Selected::SendClosed(_) => Err(wasmtime::Error::new(GuestPanic("send on closed channel"))),
                    Selected::Recv(i, Err(_closed)) => {
                        write_u32s(mem, info_at, &[RECV_CLOSED as u32, 0, 0]);
                        Ok(i as i32)
                    }
                    Selected::Recv(i, Ok(msg)) => {
                        let rb = bufs[i].as_ref().expect("select: a receive completed on a send case");
                        let (status, len, nh) = rb.deliver(mem, data, msg, call)?;
                        write_u32s(mem, info_at, &[status as u32, len, nh]);
                        Ok(i as i32)
                    }
                }
            })
        },
    )?;
    Ok(())
}
