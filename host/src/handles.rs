//! Capabilities: the objects a G may hold, each G's handle table, and the messages that carry them.
//!
//! A handle is a G-local number for an [`Object`] (a channel, timer or socket), like a file descriptor. The table is the only way from
//! a number to an object, so a G can reach exactly what it created or was given: a number it does not hold
//! is an error, never another G's object. Objects travel between Gs inside a [`Msg`] as references; the
//! receiving G gets fresh numbers for them when it takes the message (like `SCM_RIGHTS`), and the sender's
//! numbers stay valid.
//!
//! Invariant: handle `h` lives in `slots[h - 1]`; 0 is never a handle, so guests may use it as "none".

use std::sync::Arc;

use gmp_sched::Chan;

/// A channel as the host holds it.
pub type ChanRef = Arc<Chan<Msg>>;

/// What a handle can name.
#[derive(Clone)]
pub enum Object {
    /// A channel.
    Chan(ChanRef),
    /// A timer or ticker (its channel is a separate handle).
    Timer(gmp_sched::Timer),
    /// A listening TCP socket.
    TcpListener(crate::net::TcpListenerRef),
    /// A connected TCP socket.
    TcpStream(crate::net::TcpStreamRef),
    /// A UDP socket.
    Udp(crate::net::UdpRef),
}

impl Object {
    fn kind(&self) -> &'static str {
        match self {
            Object::Chan(_) => "channel",
            Object::Timer(_) => "timer",
            Object::TcpListener(_) => "TCP listener",
            Object::TcpStream(_) => "TCP stream",
            Object::Udp(_) => "UDP socket",
        }
    }
}

/// Payload bytes kept inline in a [`Msg`]: most messages are a few integers or a short string, and a
/// message that fits crosses from G to G without touching the allocator.
pub const INLINE_MSG_BYTES: usize = 32;

/// A message between Gs: bytes plus the objects attached to it.
pub struct Msg {
    /// The payload, copied out of the sender's memory.
    pub bytes: smallvec::SmallVec<[u8; INLINE_MSG_BYTES]>,
    /// Attached objects, installed in the receiver's table when it takes the message.
    pub objs: Vec<Object>,
}

fn wrong_kind(handle: u32, want: &'static str, got: &Object) -> HandleError {
    HandleError::WrongKind { handle, want, got: got.kind() }
}

/// Why a handle lookup failed; the ABI turns it into a trap naming the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandleError {
    /// The G holds no handle with this number.
    NotHeld(u32),
    /// The handle names an object of another kind.
    WrongKind { handle: u32, want: &'static str, got: &'static str },
    /// The table is full (`u32` handles, or memory).
    TooMany,
}

impl std::fmt::Display for HandleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandleError::NotHeld(h) => write!(f, "handle {h} is not held by this G"),
            HandleError::WrongKind { handle, want, got } => write!(f, "handle {handle} is a {got}, not a {want}"),
            HandleError::TooMany => write!(f, "the G's handle table is full"),
        }
    }
}

/// One G's handle table.
#[derive(Default)]
pub struct HandleTable {
    slots: Vec<Option<Object>>,
    free: Vec<u32>,
}

impl HandleTable {
    /// Install `obj` and return its new handle.
    pub fn insert(&mut self, obj: Object) -> Result<u32, HandleError> {
        if let Some(h) = self.free.pop() {
            self.slots[h as usize - 1] = Some(obj);
            return Ok(h);
        }
        let h = u32::try_from(self.slots.len() + 1).map_err(|_| HandleError::TooMany)?;
        self.slots.push(Some(obj));
        Ok(h)
    }

    /// The object behind `h`.
    pub fn get(&self, h: u32) -> Result<&Object, HandleError> {
        (h as usize)
            .checked_sub(1)
            .and_then(|i| self.slots.get(i))
            .and_then(Option::as_ref)
            .ok_or(HandleError::NotHeld(h))
    }

    /// The channel behind `h`.
    pub fn chan(&self, h: u32) -> Result<&ChanRef, HandleError> {
        match self.get(h)? {
            Object::Chan(c) => Ok(c),
            other => Err(wrong_kind(h, "channel", other)),
        }
    }

    /// The timer behind `h`.
    pub fn timer(&self, h: u32) -> Result<&gmp_sched::Timer, HandleError> {
        match self.get(h)? {
            Object::Timer(t) => Ok(t),
            other => Err(wrong_kind(h, "timer", other)),
        }
    }

    /// The TCP listener behind `h`.
    pub fn tcp_listener(&self, h: u32) -> Result<&crate::net::TcpListenerRef, HandleError> {
        match self.get(h)? {
            Object::TcpListener(s) => Ok(s),
            other => Err(wrong_kind(h, "TCP listener", other)),
        }
    }

    /// The TCP stream behind `h`.
    pub fn tcp_stream(&self, h: u32) -> Result<&crate::net::TcpStreamRef, HandleError> {
        match self.get(h)? {
            Object::TcpStream(s) => Ok(s),
            other => Err(wrong_kind(h, "TCP stream", other)),
        }
    }

    /// The UDP socket behind `h`.
    pub fn udp(&self, h: u32) -> Result<&crate::net::UdpRef, HandleError> {
        match self.get(h)? {
            Object::Udp(s) => Ok(s),
            other => Err(wrong_kind(h, "UDP socket", other)),
        }
    }

    /// Release `h`. The object lives on while other handles or messages refer to it.
    pub fn remove(&mut self, h: u32) -> Result<Object, HandleError> {
        let slot = (h as usize).checked_sub(1).and_then(|i| self.slots.get_mut(i)).ok_or(HandleError::NotHeld(h))?;
        let obj = slot.take().ok_or(HandleError::NotHeld(h))?;
        self.free.push(h);
        Ok(obj)
    }

    /// Handles held now.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// True when the G holds no handle.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chan() -> Object {
        Object::Chan(Arc::new(Chan::new(0)))
    }

    #[test]
    fn handles_start_at_one_and_are_reused() {
        let mut t = HandleTable::default();
        assert_eq!(t.insert(chan()), Ok(1));
        assert_eq!(t.insert(chan()), Ok(2));
        t.remove(1).unwrap();
        assert_eq!(t.insert(chan()), Ok(1));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn unknown_and_released_handles_are_not_held() {
        let mut t = HandleTable::default();
        assert_eq!(t.get(0).err(), Some(HandleError::NotHeld(0)));
        assert_eq!(t.get(5).err(), Some(HandleError::NotHeld(5)));
        let h = t.insert(chan()).unwrap();
        t.remove(h).unwrap();
        assert_eq!(t.get(h).err(), Some(HandleError::NotHeld(h)));
        assert_eq!(t.remove(h).err(), Some(HandleError::NotHeld(h)));
        assert_eq!(t.get(u32::MAX).err(), Some(HandleError::NotHeld(u32::MAX)));
    }
}
