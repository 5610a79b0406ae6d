//! The connections a server holds, kept so that no one client can crowd out the
//! others: each client address gets at most a share of them, and when they run out,
//! the oldest connection that is idle and has never proved who it is makes room.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// The open connections, by id (in the order they came), and how many each client
/// address holds.
pub struct Connections {
    state: Mutex<State>,
    per_address: usize,
}

#[derive(Default)]
struct State {
    next_id: u64,
    open: HashMap<u64, Arc<Connection>>,
    by_address: HashMap<IpAddr, usize>,
}

/// One open connection, as the server and its handler see it.
pub struct Connection {
    id: u64,
    address: IpAddr,
    authenticated: AtomicBool,
    in_flight: AtomicUsize,
    close: Notify,
}

impl Connection {
    /// Closing it cannot cost anyone a request: none is in hand, and it never
    /// presented a valid credential.
    fn expendable(&self) -> bool {
        !self.authenticated.load(Ordering::Relaxed) && self.in_flight.load(Ordering::Relaxed) == 0
    }
}

/// The client a request came from, as a handler sees it.
#[derive(Clone)]
pub struct Client {
    pub address: SocketAddr,
    connection: Arc<Connection>,
}

impl Client {
    /// Marks the connection as a proven client's: it is no longer closed to make room.
    pub fn authenticated(&self) {
        self.connection.authenticated.store(true, Ordering::Relaxed);
    }

    /// Counts a request in hand until the guard is dropped.
    pub(super) fn busy(&self) -> Busy {
        self.connection.in_flight.fetch_add(1, Ordering::Relaxed);
        Busy(self.connection.clone())
    }
}

/// A request in hand on a connection.
pub(super) struct Busy(Arc<Connection>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection's place among the open ones, given back when it is dropped.
pub struct Admission {
    connections: Arc<Connections>,
    connection: Arc<Connection>,
}

impl Admission {
    pub fn client(&self, address: SocketAddr) -> Client {
        Client {
            address,
            connection: self.connection.clone(),
        }
    }

    /// Resolves when the server closes this connection to make room.
    pub async fn closed(&self) {
        self.connection.close.notified().await;
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        forget(&mut self.connections.lock(), &self.connection);
    }
}

impl Connections {
    /// At most `per_address` connections from any one client address.
    pub fn new(per_address: usize) -> Arc<Connections> {
        Arc::new(Connections {
            state: Mutex::default(),
            per_address: per_address.max(1),
        })
    }

    /// Admits a connection from `address`. An address at its share first loses its
    /// oldest expendable connection; with none, the new one is refused (`None`).
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Option<Admission> {
        let mut state = self.lock();
        if state.by_address.get(&address).copied().unwrap_or(0) >= self.per_address
            && !close_oldest(&mut state, |c| c.address == address)
        {
            return None;
        }
        state.next_id += 1;
        let connection = Arc::new(Connection {
            id: state.next_id,
            address,
            authenticated: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            close: Notify::new(),
        });
        state.open.insert(connection.id, connection.clone());
        *state.by_address.entry(address).or_default() += 1;
        Some(Admission {
            connections: self.clone(),
            connection,
        })
    }

    /// Closes the oldest expendable connection from any address, to make room for a
    /// new one; false when every connection is a proven client's or busy.
    pub fn make_room(&self) -> bool {
        close_oldest(&mut self.lock(), |_| true)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Tells the oldest expendable connection that passes `among` to close, and forgets
/// it at once (so its room counts as free, and it is not chosen twice).
fn close_oldest(state: &mut State, among: impl Fn(&Connection) -> bool) -> bool {
    let Some(oldest) = state
        .open
        .values()
        .filter(|c| among(c) && c.expendable())
        .min_by_key(|c| c.id)
        .cloned()
    else {
        return false;
    };
    forget(state, &oldest);
    // notify_one keeps the wake-up for a connection not yet waiting on it.
    oldest.close.notify_one();
    true
}

/// Takes `connection` off the open ones, once: closing one to make room forgets it
/// before it ends.
fn forget(state: &mut State, connection: &Connection) {
    if state.open.remove(&connection.id).is_none() {
        return;
    }
    if let Some(count) = state.by_address.get_mut(&connection.address) {
        *count -= 1;
        if *count == 0 {
            state.by_address.remove(&connection.address);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

    #[test]
    fn an_address_at_its_share_loses_its_oldest_idle_stranger_first() {
        let connections = Connections::new(2);
        let first = connections.admit(HOST).unwrap();
        let second = connections.admit(HOST).unwrap();
        first.client("127.0.0.1:1".parse().unwrap()).authenticated();
        let third = connections.admit(HOST).expect("the second one makes room");
        assert!(
            connections.admit(OTHER).is_some(),
            "other addresses have room"
        );
        let _busy = third.client("127.0.0.1:3".parse().unwrap()).busy();
        assert!(
            connections.admit(HOST).is_none(),
            "a proven client and a busy one are never closed"
        );
        drop(second);
        drop(first);
        assert!(connections.admit(HOST).is_some());
    }

    #[test]
    fn making_room_closes_the_oldest_expendable_connection_of_any_address() {
        let connections = Connections::new(8);
        let proven = connections.admit(HOST).unwrap();
        proven
            .client("127.0.0.1:1".parse().unwrap())
            .authenticated();
        let stranger = connections.admit(OTHER).unwrap();
        assert!(connections.make_room());
        assert!(!connections.make_room(), "only the proven one is left");
        drop(stranger);
        drop(proven);
        assert!(connections.lock().by_address.is_empty());
    }
}
