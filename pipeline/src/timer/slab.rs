//! Timer storage: a slab of nodes (a `Vec` with a free list) threaded by intrusive
//! doubly-linked lists, so that a node is unlinked from whichever list holds it in O(1).
//!
//! Every node belongs to at most one list, named by a [`ListId`]. Indices come from the
//! wheel and from [`TimerHandle`]s; handles from outside are checked against the slot's
//! generation before any use, so a stale or forged handle never reaches a node.

use super::TimerHandle;

/// "No node": the end of a list or of the free list. A `Vec` cannot hold `usize::MAX`
/// non-zero-sized entries, so this is never a valid index.
const NIL: usize = usize::MAX;

/// Names a list: a wheel slot (`level * SLOTS + slot`), the ready list or the overflow list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ListId(pub(super) usize);

/// A list's two ends.
#[derive(Debug, Clone, Copy)]
struct Ends {
    head: usize,
    tail: usize,
}

const EMPTY: Ends = Ends { head: NIL, tail: NIL };

/// A live timer.
#[derive(Debug)]
struct Node<T> {
    value: T,
    /// The tick at which the timer is due.
    expiry: u64,
    /// The list holding the node; `None` only while the wheel moves it between lists.
    list: Option<ListId>,
    prev: usize,
    next: usize,
}

#[derive(Debug)]
enum Slot<T> {
    Free { next_free: usize },
    Used(Node<T>),
}

#[derive(Debug)]
struct Entry<T> {
    /// Bumped each time the slot is freed, so handles to earlier occupants go stale.
    generation: u64,
    slot: Slot<T>,
}

/// The slab and the heads of its lists.
#[derive(Debug)]
pub(super) struct Slab<T> {
    entries: Vec<Entry<T>>,
    free_head: usize,
    len: usize,
    lists: Vec<Ends>,
}

impl<T> Slab<T> {
    /// An empty slab with `lists` empty lists, `ListId(0)` to `ListId(lists - 1)`.
    pub(super) fn new(lists: usize) -> Self {
        Slab { entries: Vec::new(), free_head: NIL, len: 0, lists: vec![EMPTY; lists] }
    }

    /// The number of live timers.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Stores a timer, linked to no list yet, and returns its handle.
    pub(super) fn alloc(&mut self, value: T, expiry: u64) -> TimerHandle {
        let node = Node { value, expiry, list: None, prev: NIL, next: NIL };
        self.len += 1;
        let index = self.free_head;
        match self.entries.get_mut(index) {
            Some(entry @ Entry { slot: Slot::Free { .. }, .. }) => {
                if let Slot::Free { next_free } = entry.slot {
                    self.free_head = next_free;
                }
                entry.slot = Slot::Used(node);
                TimerHandle { index, generation: entry.generation }
            }
            _ => {
                self.entries.push(Entry { generation: 0, slot: Slot::Used(node) });
                TimerHandle { index: self.entries.len() - 1, generation: 0 }
            }
        }
    }

    /// The index of the live timer `handle` names, or `None` if the handle is stale.
    pub(super) fn lookup(&self, handle: TimerHandle) -> Option<usize> {
        let entry = self.entries.get(handle.index)?;
        let live = entry.generation == handle.generation && matches!(entry.slot, Slot::Used(_));
        live.then_some(handle.index)
    }

    /// Frees the (unlinked) timer at `index` and returns its handle and value.
    pub(super) fn free(&mut self, index: usize) -> Option<(TimerHandle, T)> {
        let entry = self.entries.get_mut(index)?;
        let old = core::mem::replace(&mut entry.slot, Slot::Free { next_free: self.free_head });
        let Slot::Used(node) = old else {
            entry.slot = old;
            return None;
        };
        let handle = TimerHandle { index, generation: entry.generation };
        entry.generation = entry.generation.wrapping_add(1);
        self.free_head = index;
        self.len = self.len.saturating_sub(1);
        Some((handle, node.value))
    }

    /// The due tick of the timer at `index`.
    pub(super) fn expiry(&self, index: usize) -> Option<u64> {
        self.node(index).map(|n| n.expiry)
    }

    /// Changes the due tick of the (unlinked) timer at `index`.
    pub(super) fn set_expiry(&mut self, index: usize, expiry: u64) {
        if let Some(node) = self.node_mut(index) {
            node.expiry = expiry;
        }
    }

    /// Whether `list` holds no node.
    pub(super) fn is_empty(&self, list: ListId) -> bool {
        self.lists.get(list.0).is_none_or(|ends| ends.head == NIL)
    }

    /// Appends the unlinked node at `index` to `list`.
    pub(super) fn push_back(&mut self, list: ListId, index: usize) {
        let Some(ends) = self.lists.get_mut(list.0) else { return };
        let old_tail = ends.tail;
        ends.tail = index;
        if old_tail == NIL {
            ends.head = index;
        }
        if let Some(prev) = self.node_mut(old_tail) {
            prev.next = index;
        }
        if let Some(node) = self.node_mut(index) {
            (node.list, node.prev, node.next) = (Some(list), old_tail, NIL);
        }
    }

    /// Unlinks the node at `index` from its list and returns the list it was in.
    pub(super) fn unlink(&mut self, index: usize) -> Option<ListId> {
        let node = self.node_mut(index)?;
        let (list, prev, next) = (node.list.take()?, node.prev, node.next);
        (node.prev, node.next) = (NIL, NIL);
        match self.node_mut(prev) {
            Some(p) => p.next = next,
            None => self.set_head(list, next),
        }
        match self.node_mut(next) {
            Some(n) => n.prev = prev,
            None => self.set_tail(list, prev),
        }
        Some(list)
    }

    /// Unlinks and returns the first node of `list`.
    pub(super) fn pop_front(&mut self, list: ListId) -> Option<usize> {
        let head = self.lists.get(list.0)?.head;
        self.unlink(head).map(|_| head)
    }

    /// Empties `list` at once and returns its former first node. The nodes keep their `next`
    /// links, so the caller walks the chain with [`Slab::detach`].
    pub(super) fn take_chain(&mut self, list: ListId) -> Option<usize> {
        let ends = self.lists.get_mut(list.0)?;
        let head = core::mem::replace(ends, EMPTY).head;
        (head != NIL).then_some(head)
    }

    /// Marks a node of a taken chain as unlinked and returns the next node of the chain.
    pub(super) fn detach(&mut self, index: usize) -> Option<usize> {
        let node = self.node_mut(index)?;
        let next = node.next;
        (node.list, node.prev, node.next) = (None, NIL, NIL);
        (next != NIL).then_some(next)
    }

    fn set_head(&mut self, list: ListId, index: usize) {
        if let Some(ends) = self.lists.get_mut(list.0) {
            ends.head = index;
        }
    }

    fn set_tail(&mut self, list: ListId, index: usize) {
        if let Some(ends) = self.lists.get_mut(list.0) {
            ends.tail = index;
        }
    }

    fn node(&self, index: usize) -> Option<&Node<T>> {
        match &self.entries.get(index)?.slot {
            Slot::Used(node) => Some(node),
            Slot::Free { .. } => None,
        }
    }

    fn node_mut(&mut self, index: usize) -> Option<&mut Node<T>> {
        match &mut self.entries.get_mut(index)?.slot {
            Slot::Used(node) => Some(node),
            Slot::Free { .. } => None,
        }
    }
}
