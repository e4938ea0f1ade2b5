//! Epoll tokens and the generational slab behind transport tokens.
//!
//! Token layout (64 bits): the top 8 bits are the kind ([`KIND_WAKER`], [`KIND_WATCHER`],
//! [`KIND_TRANSPORT`]). A watcher token carries the fd in its low 32 bits. A transport token carries
//! a slab index in its low 32 bits and a 24-bit generation in bits 32..56.
//!
//! Slab invariants:
//! - A [`Key`] resolves only while the value it was returned for is in the slab: removing a value
//!   bumps its slot's generation, so an old key (or an old token for a closed transport whose slot
//!   was reused) never resolves.
//! - Generations stay below 2^24 (they wrap to 0), so `transport_key(transport_token(k)) == k`
//!   for every key the slab hands out.
//! - Freed slots are reused (last freed first); `len` counts occupied slots.

use std::os::fd::RawFd;

/// Kind of the inbox waker's token.
pub const KIND_WAKER: u8 = 0;
/// Kind of a user fd watcher's token.
pub const KIND_WATCHER: u8 = 1;
/// Kind of a native transport's token.
pub const KIND_TRANSPORT: u8 = 2;

const KIND_SHIFT: u32 = 56;
const GEN_SHIFT: u32 = 32;
/// Generations are kept within 24 bits so they fit in a token.
pub const GENERATION_MASK: u32 = (1 << 24) - 1;
const LOW_MASK: u64 = 0xffff_ffff;

/// The token of the inbox waker.
pub fn waker_token() -> u64 {
    (KIND_WAKER as u64) << KIND_SHIFT
}

/// The token of the watcher for `fd`.
pub fn watcher_token(fd: RawFd) -> u64 {
    ((KIND_WATCHER as u64) << KIND_SHIFT) | (fd as u32 as u64)
}

/// The kind of a token.
pub fn kind(token: u64) -> u8 {
    (token >> KIND_SHIFT) as u8
}

/// The fd of a watcher token.
pub fn watcher_fd(token: u64) -> RawFd {
    (token & LOW_MASK) as u32 as RawFd
}

/// A slab key: slot index and the slot's generation when the value was inserted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    /// The slot.
    pub index: u32,
    /// The slot's generation (below 2^24).
    pub generation: u32,
}

/// The token of a transport stored under `key`.
pub fn transport_token(key: Key) -> u64 {
    ((KIND_TRANSPORT as u64) << KIND_SHIFT)
        | (((key.generation & GENERATION_MASK) as u64) << GEN_SHIFT)
        | key.index as u64
}

/// The key inside a transport token.
pub fn transport_key(token: u64) -> Key {
    Key {
        index: (token & LOW_MASK) as u32,
        generation: ((token >> GEN_SHIFT) as u32) & GENERATION_MASK,
    }
}

#[derive(Debug)]
struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

/// A generational slab.
#[derive(Debug)]
pub struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Slab<T> {
    /// An empty slab.
    pub fn new() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    /// Stores `value`, reusing a freed slot if there is one.
    ///
    /// # Panics
    /// If the slab would exceed 2^32 slots.
    pub fn insert(&mut self, value: T) -> Key {
        self.len += 1;
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.value = Some(value);
            return Key {
                index,
                generation: slot.generation,
            };
        }
        let index = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        assert!(index < u32::MAX, "slab index space exhausted");
        self.slots.push(Slot {
            generation: 0,
            value: Some(value),
        });
        Key { index, generation: 0 }
    }

    fn slot(&self, key: Key) -> Option<&Slot<T>> {
        self.slots
            .get(key.index as usize)
            .filter(|s| s.generation == key.generation)
    }

    /// The value under `key`, if `key` is current.
    pub fn get(&self, key: Key) -> Option<&T> {
        self.slot(key)?.value.as_ref()
    }

    /// The value under `key`, mutably, if `key` is current.
    pub fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        self.slots
            .get_mut(key.index as usize)
            .filter(|s| s.generation == key.generation)?
            .value
            .as_mut()
    }

    /// Removes and returns the value under `key`, if `key` is current; the slot's generation moves on.
    pub fn remove(&mut self, key: Key) -> Option<T> {
        let slot = self
            .slots
            .get_mut(key.index as usize)
            .filter(|s| s.generation == key.generation)?;
        let value = slot.value.take()?;
        slot.generation = slot.generation.wrapping_add(1) & GENERATION_MASK;
        self.free.push(key.index);
        self.len -= 1;
        Some(value)
    }

    /// The number of stored values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the slab stores nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes and returns every value (in slot order); existing keys stop resolving.
    pub fn drain_all(&mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if let Some(v) = slot.value.take() {
                slot.generation = slot.generation.wrapping_add(1) & GENERATION_MASK;
                self.free.push(index as u32);
                out.push(v);
            }
        }
        self.len = 0;
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn token_layout() {
        assert_eq!(kind(waker_token()), KIND_WAKER);
        let t = watcher_token(42);
        assert_eq!(kind(t), KIND_WATCHER);
        assert_eq!(watcher_fd(t), 42);
        assert_eq!(watcher_fd(watcher_token(i32::MAX)), i32::MAX);
        let k = Key {
            index: u32::MAX,
            generation: GENERATION_MASK,
        };
        let t = transport_token(k);
        assert_eq!(kind(t), KIND_TRANSPORT);
        assert_eq!(transport_key(t), k);
        assert_ne!(t, waker_token());
    }

    #[test]
    fn stale_key_after_reuse() {
        let mut s = Slab::new();
        let a = s.insert("a");
        assert_eq!(s.remove(a), Some("a"));
        assert_eq!(s.remove(a), None);
        let b = s.insert("b");
        assert_eq!(b.index, a.index);
        assert_ne!(b.generation, a.generation);
        assert_eq!(s.get(a), None);
        assert_eq!(s.get(b), Some(&"b"));
        *s.get_mut(b).unwrap() = "c";
        assert_eq!(s.drain_all(), vec!["c"]);
        assert_eq!(s.get(b), None);
        assert!(s.is_empty());
    }

    #[test]
    fn generation_wraps_within_24_bits() {
        let mut s = Slab::new();
        let mut k = s.insert(0u8);
        for _ in 0..(GENERATION_MASK as usize + 1) {
            s.remove(k);
            k = s.insert(0u8);
            assert!(k.generation <= GENERATION_MASK);
        }
        assert_eq!(k.generation, 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert,
        Remove(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![Just(Op::Insert), (0usize..64).prop_map(Op::Remove)]
    }

    proptest! {
        #[test]
        fn stale_keys_never_resolve(ops in proptest::collection::vec(op(), 0..200)) {
            let mut s = Slab::new();
            let mut live: Vec<(Key, u32)> = Vec::new();
            let mut dead: Vec<Key> = Vec::new();
            let mut next = 0u32;
            for o in ops {
                match o {
                    Op::Insert => {
                        let k = s.insert(next);
                        prop_assert!(!live.iter().any(|(l, _)| *l == k));
                        live.push((k, next));
                        next += 1;
                    }
                    Op::Remove(i) if !live.is_empty() => {
                        let (k, v) = live.remove(i % live.len());
                        prop_assert_eq!(s.remove(k), Some(v));
                        dead.push(k);
                    }
                    Op::Remove(_) => {}
                }
                prop_assert_eq!(s.len(), live.len());
                for (k, v) in &live {
                    prop_assert_eq!(s.get(*k), Some(v));
                    prop_assert_eq!(transport_key(transport_token(*k)), *k);
                }
                for k in &dead {
                    prop_assert_eq!(s.get(*k), None);
                }
            }
        }
    }
}
