//! Channels: independent, deterministic message-id spaces for
//! sub-protocols that run concurrently.

use std::future::Future;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::channels::{self, ChannelStats, NameError};
use crate::error::{Error, Kind};
use crate::mailbox::MessageRef;
use crate::multi::{Broadcast, RecvAll};
use crate::pool::{Pending, Pool, Recv, SendHandle, Space};

/// A message-id space of its own within a [`Pool`], for one sub-protocol.
///
/// The pool's automatic ids come from one counter per peer, taken in call
/// order: tasks that run concurrently take them in whatever order the
/// scheduler runs them, which differs between parties, so their messages
/// meet the wrong receives — silently, when the types agree. A channel has
/// its own counters per peer, and its ids are namespaced on the wire, so
/// two channels never take each other's messages, whatever order their
/// tasks run in. Give every concurrent task its own channel.
///
/// Channels are named by the program, the same on every party: open one
/// with [`Pool::channel`], nest with [`Channel::channel`], and fork one per
/// index with [`Channel::sub`] (`ch.sub("cmp", 7)`), so that every party
/// derives the same names without talking.
///
/// On the wire, a channel's message ids are ordinary strings:
/// `<path>#<id>`, where `<path>` is the channel's labels joined by `/`
/// (a forked channel's label is `<label>.<index>`) and `<id>` the channel's
/// own automatic counter for that peer (`0`, `1`, ...) or the custom id.
/// The first automatic message of `pool.channel("online")?.sub("mult", 3)?`
/// to a peer has the id `online/mult.3#0`. A Python party takes part by
/// sending and receiving with those ids.
///
/// A channel is open once per party: opening it again while it is open is
/// an error. Dropping it (or [`Channel::close`]) closes it: messages it
/// received but never read are freed, and reported (logged, or returned by
/// `close`).
#[derive(Debug)]
pub struct Channel {
    pool: Pool,
    space: Space,
    path: Arc<str>,
    closed: bool,
}

fn name_error(e: NameError) -> Error {
    Error::new(Kind::Channel(e.to_string()))
}

impl Pool {
    /// Opens the channel named `label` (see [`Channel`]): an id space of
    /// its own, for one sub-protocol among concurrent ones. Labels are 1 to
    /// 64 ASCII letters, digits, `_` and `-`. An error if the channel is
    /// open already on this party.
    pub fn channel(&self, label: &str) -> Result<Channel, Error> {
        let segment = channels::named(label).map_err(name_error)?;
        Channel::open(self, segment)
    }

    /// Opens the `index`th fork of `label` (channel `<label>.<index>`; see
    /// [`Channel::sub`]).
    pub fn sub(&self, label: &str, index: u64) -> Result<Channel, Error> {
        let segment = channels::forked(label, index).map_err(name_error)?;
        Channel::open(self, segment)
    }
}

impl Channel {
    /// Opens the channel at `path` of `pool`.
    pub(crate) fn open(pool: &Pool, path: String) -> Result<Channel, Error> {
        pool.check_open()?;
        pool.open_channel(&path).map_err(name_error)?;
        let path: Arc<str> = path.into();
        Ok(Channel {
            pool: pool.clone(),
            space: Space::Channel(path.clone()),
            path,
            closed: false,
        })
    }

    /// The channel's path (`online/mult.3`), the same on every party.
    pub fn name(&self) -> &str {
        &self.path
    }

    /// The pool the channel belongs to.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Opens the channel named `label` inside this one (path
    /// `<this path>/<label>`). Labels are 1 to 64 ASCII letters, digits,
    /// `_` and `-`; channels nest at most 16 deep.
    pub fn channel(&self, label: &str) -> Result<Channel, Error> {
        let segment = channels::named(label).map_err(name_error)?;
        let path = channels::child_path(Some(&self.path), &segment).map_err(name_error)?;
        Channel::open(&self.pool, path)
    }

    /// Opens the `index`th fork of `label` inside this one (path
    /// `<this path>/<label>.<index>`): one per concurrent task, e.g. one
    /// per comparison of a batch.
    pub fn sub(&self, label: &str, index: u64) -> Result<Channel, Error> {
        let segment = channels::forked(label, index).map_err(name_error)?;
        let path = channels::child_path(Some(&self.path), &segment).map_err(name_error)?;
        Channel::open(&self.pool, path)
    }

    /// Sends `msg` to `peer` with the channel's next automatic id for it
    /// (see [`Pool::send`]).
    pub fn send<T: Serialize + ?Sized>(
        &self,
        peer: &str,
        msg: &T,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        self.pool.send_in(&self.space, peer, None, msg)
    }

    /// Sends `msg` to `peer` with the custom id `id` within the channel
    /// (on the wire `<path>#<id>`; the channel's counter advances anyway).
    pub fn send_with_id<T: Serialize + ?Sized>(
        &self,
        peer: &str,
        id: &str,
        msg: &T,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        self.pool.send_in(&self.space, peer, Some(id), msg)
    }

    /// [`Channel::send`] in the background (see [`Pool::asend`]).
    pub fn asend<T: Serialize + ?Sized>(&self, peer: &str, msg: &T) -> SendHandle {
        SendHandle::spawn(self.send(peer, msg), peer)
    }

    /// [`Channel::send_with_id`] in the background.
    pub fn asend_with_id<T: Serialize + ?Sized>(
        &self,
        peer: &str,
        id: &str,
        msg: &T,
    ) -> SendHandle {
        SendHandle::spawn(self.send_with_id(peer, id, msg), peer)
    }

    /// Receives the channel's next message from `peer` (see [`Pool::recv`]).
    pub fn recv<T: DeserializeOwned + Send + 'static>(&self, peer: &str) -> Recv<T> {
        self.pool.recv_in(&self.space, peer, None)
    }

    /// Receives the message with custom id `id` within the channel.
    pub fn recv_with_id<T: DeserializeOwned + Send + 'static>(
        &self,
        peer: &str,
        id: &str,
    ) -> Recv<T> {
        self.pool.recv_in(&self.space, peer, Some(id))
    }

    /// Registers interest in the channel's next message from `peer` now.
    pub fn arecv<T: DeserializeOwned + Send + 'static>(&self, peer: &str) -> Pending<T> {
        self.recv(peer).register()
    }

    /// Sends `msg` on the channel to every peer or those named by
    /// [`Broadcast::to`] (see [`Pool::broadcast`]).
    pub fn broadcast<'a, T: Serialize + ?Sized>(&'a self, msg: &'a T) -> Broadcast<'a, T> {
        Broadcast::new(&self.pool, self.space.clone(), msg)
    }

    /// Receives one message on the channel from every peer or those named
    /// by [`RecvAll::from`] (see [`Pool::recv_all`]).
    pub fn recv_all<T: DeserializeOwned + Send + 'static>(&self) -> RecvAll<T> {
        RecvAll::new(&self.pool, self.space.clone())
    }

    /// The channel's traffic so far.
    pub fn stats(&self) -> ChannelStats {
        self.pool.channel_book().stats_of(&self.path)
    }

    /// Messages the channel received but nobody read yet.
    pub fn unread(&self) -> Vec<MessageRef> {
        let prefix = self.wire_prefix();
        self.pool
            .unread()
            .into_iter()
            .filter(|m| m.id.starts_with(&prefix))
            .collect()
    }

    /// Closes the channel and returns the messages it received but nobody
    /// read (they are freed). Dropping the channel does the same and logs
    /// them.
    pub fn close(mut self) -> Vec<MessageRef> {
        let unread = self.shut();
        self.closed = true;
        unread
    }

    fn wire_prefix(&self) -> String {
        channels::wire_id(&self.path, "")
    }

    fn shut(&self) -> Vec<MessageRef> {
        let prefix = self.wire_prefix();
        let unread = self.pool.discard_unread(|id| id.starts_with(&prefix));
        self.pool.channel_book().close(&self.path);
        unread
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        let unread = self.shut();
        if !unread.is_empty() {
            tracing::warn!(pool = %self.pool.name(), channel = %self.path, count = unread.len(), messages = ?unread, "channel closed with messages received but never read; they are freed");
        }
    }
}
