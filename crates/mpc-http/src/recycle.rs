//! Receive buffers of large packets, used again for the next large packet
//! once nothing refers to the last one any more.
//!
//! A packet of 16 MiB read into a new buffer has every page of that buffer
//! mapped and zeroed by the kernel first (the allocator hands buffers this
//! large out fresh and gives them back when freed): `cargo xtask bench`
//! measured about 13 MiB of pages faulted in per 16 MiB echo. A packet is
//! handed on as [`Bytes`] whose owner, when the last slice of it is dropped
//! (the application is done with the message), gives its buffer back here;
//! the next packet of about that size is read into it.
//!
//! Bounded: only buffers of [`MIN_RECYCLED`] to [`MAX_RECYCLED`] bytes, at
//! most [`MAX_KEPT`] of them kept (so at most 64 MiB held while idle), and
//! a kept buffer is used only for a packet it fits within 1/16 (so what the
//! pool's buffer limits count, the packets' lengths, is what is held, to
//! within that). A packet larger than [`MAX_RECYCLED`] is read and freed as
//! before: the peak memory of one very large message does not change.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use bytes::Bytes;

/// Smallest buffer kept (smaller ones come and go cheaply).
pub(crate) const MIN_RECYCLED: usize = 1 << 20;
/// Largest buffer kept.
pub(crate) const MAX_RECYCLED: usize = 32 << 20;
/// Buffers kept at most.
pub(crate) const MAX_KEPT: usize = 2;

/// The buffers kept, of one server.
#[derive(Debug, Default)]
pub(crate) struct Recycler {
    kept: Mutex<Vec<Vec<u8>>>,
}

impl Recycler {
    /// An empty kept buffer for a packet of `len` bytes: one that holds
    /// `len` and at most 1/16 more; `None` if there is none (or `len` is
    /// not in the recycled range).
    pub(crate) fn take(&self, len: usize) -> Option<Vec<u8>> {
        if !(MIN_RECYCLED..=MAX_RECYCLED).contains(&len) {
            return None;
        }
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let fits = |b: &Vec<u8>| b.capacity() >= len && b.capacity() - len <= len / 16;
        let i = kept.iter().position(fits)?;
        let mut buf = kept.swap_remove(i);
        buf.clear();
        Some(buf)
    }

    /// `buf` as [`Bytes`]; its buffer comes back to this recycler when the
    /// last slice of it is dropped, if its size is in the recycled range.
    pub(crate) fn share(self: &Arc<Self>, buf: Vec<u8>) -> Bytes {
        if !(MIN_RECYCLED..=MAX_RECYCLED).contains(&buf.capacity()) {
            return Bytes::from(buf);
        }
        Bytes::from_owner(Returning {
            buf,
            home: Arc::downgrade(self),
        })
    }

    fn keep(&self, buf: Vec<u8>) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() < MAX_KEPT {
            kept.push(buf);
        }
    }

    /// Buffers kept now.
    #[cfg(test)]
    fn kept(&self) -> usize {
        self.kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// The owner of a shared packet: gives its buffer back when dropped (if
/// the recycler is still there, i.e. the server still runs).
struct Returning {
    buf: Vec<u8>,
    home: Weak<Recycler>,
}

impl AsRef<[u8]> for Returning {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        if let Some(home) = self.home.upgrade() {
            home.keep(std::mem::take(&mut self.buf));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    fn filled(len: usize, byte: u8) -> Vec<u8> {
        vec![byte; len]
    }

    #[test]
    fn a_buffer_comes_back_when_the_last_slice_is_dropped() {
        let r = Arc::new(Recycler::default());
        let packet = r.share(filled(4 * MIB, 7));
        let ptr = packet.as_ptr();
        let slice = packet.slice(10..20);
        drop(packet);
        assert_eq!(r.kept(), 0, "a slice still refers to it");
        assert!(r.take(4 * MIB).is_none());
        assert_eq!(&slice[..], &[7; 10]);
        drop(slice);
        assert_eq!(r.kept(), 1);
        // too small or too large for it: not used
        assert!(r.take(3 * MIB).is_none());
        assert!(r.take(4 * MIB + 1).is_none());
        let again = r.take(4 * MIB - 1000).expect("fits within 1/16");
        assert_eq!((again.as_ptr(), again.len()), (ptr, 0));
        assert_eq!(r.kept(), 0);
    }

    #[test]
    fn only_buffers_in_range_and_at_most_max_kept() {
        let r = Arc::new(Recycler::default());
        drop(r.share(filled(MIB - 1, 1)));
        drop(r.share(filled(MAX_RECYCLED + 1, 1)));
        assert_eq!(r.kept(), 0);
        let many: Vec<Bytes> = (0..MAX_KEPT + 2).map(|_| r.share(filled(MIB, 1))).collect();
        drop(many);
        assert_eq!(r.kept(), MAX_KEPT);
        assert!(r.take(MIB - 1).is_none(), "below the range");
    }

    #[test]
    fn a_stopped_server_keeps_nothing() {
        let r = Arc::new(Recycler::default());
        let packet = r.share(filled(2 * MIB, 3));
        drop(r);
        // the buffer is freed with the last slice, not kept anywhere
        drop(packet);
    }
}
