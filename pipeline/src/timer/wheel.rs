//! The wheel proper: levels, slot placement, cascading and the public API.

use core::fmt;

use super::TimerHandle;
use super::slab::{ListId, Slab};
use crate::time::{Duration, Instant};

/// log2 of the slots per level.
const SLOT_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << SLOT_BITS;
/// Levels; the wheel spans `2^(SLOT_BITS * LEVELS)` ticks.
const LEVELS: usize = 6;
/// Timers due at or before the current tick, in the order they became due.
const READY: ListId = ListId(LEVELS * SLOTS);
/// Timers beyond the top level's span.
const OVERFLOW: ListId = ListId(LEVELS * SLOTS + 1);

/// What happens next as time moves on.
#[derive(Debug, Clone, Copy)]
enum Event {
    /// A slot's span begins: its timers fire (level 0) or cascade down.
    Slot { level: usize, slot: usize },
    /// Time enters the top-level span of the earliest overflow timer.
    Overflow,
}

/// A hierarchical timing wheel of timers carrying a `T` each (see the [module](super) docs).
pub struct TimerWheel<T> {
    slab: Slab<T>,
    origin: Instant,
    tick_micros: u64,
    /// The current tick: every timer due at or before it is in the ready list.
    elapsed: u64,
    /// Bit `s` of `occupied[l]` is set iff slot `s` of level `l` holds a timer.
    occupied: [u64; LEVELS],
    /// No later than the earliest due tick in the overflow list; `u64::MAX` when it is empty.
    overflow_min: u64,
}

impl<T> TimerWheel<T> {
    /// An empty wheel whose tick 0 is `now`, with ticks of `tick` (at least 1 µs; a zero
    /// `tick` is taken as 1 µs).
    pub fn new(now: Instant, tick: Duration) -> Self {
        TimerWheel {
            slab: Slab::new(LEVELS * SLOTS + 2),
            origin: now,
            tick_micros: tick.total_micros().max(1),
            elapsed: 0,
            occupied: [0; LEVELS],
            overflow_min: u64::MAX,
        }
    }

    /// The tick length.
    pub fn tick(&self) -> Duration {
        Duration::from_micros(self.tick_micros)
    }

    /// The number of armed timers.
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// Whether no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.slab.len() == 0
    }

    /// Arms a timer that fires at the first poll at or after `deadline` rounded up to a tick.
    /// A deadline in the past fires at the next poll. O(1).
    pub fn insert(&mut self, deadline: Instant, value: T) -> TimerHandle {
        let handle = self.slab.alloc(value, self.expiry_tick(deadline));
        self.place(handle.index);
        handle
    }

    /// Disarms the timer and returns its value, or `None` if the handle is stale (the timer
    /// already fired or was cancelled). O(1).
    pub fn cancel(&mut self, handle: TimerHandle) -> Option<T> {
        let index = self.slab.lookup(handle)?;
        self.unlink(index);
        self.slab.free(index).map(|(_, value)| value)
    }

    /// Moves the timer to `deadline`, keeping its handle; `false` if the handle is stale.
    /// O(1).
    #[must_use = "a stale handle means the timer is not armed"]
    pub fn reset(&mut self, handle: TimerHandle, deadline: Instant) -> bool {
        let Some(index) = self.slab.lookup(handle) else { return false };
        self.unlink(index);
        self.slab.set_expiry(index, self.expiry_tick(deadline));
        self.place(index);
        true
    }

    /// Whether the handle names an armed timer.
    pub fn contains(&self, handle: TimerHandle) -> bool {
        self.slab.lookup(handle).is_some()
    }

    /// When the timer becomes due (its deadline rounded up to a tick), or `None` if the
    /// handle is stale.
    pub fn deadline(&self, handle: TimerHandle) -> Option<Instant> {
        let index = self.slab.lookup(handle)?;
        self.slab.expiry(index).map(|tick| self.instant_of(tick))
    }

    /// When to call [`poll_expired`](Self::poll_expired) next, or `None` if no timer is
    /// armed. Never later than the earliest timer becomes due; exact when that timer is
    /// within 64 ticks, otherwise possibly earlier (the start of the slot holding it), in
    /// which case polling then fires nothing but moves timers closer, and `next_deadline`
    /// is asked again. Costs a scan of six 64-bit bitmaps. A value not after the last poll's
    /// `now` means timers are ready now.
    pub fn next_deadline(&self) -> Option<Instant> {
        if !self.slab.is_empty(READY) {
            return Some(self.instant_of(self.elapsed));
        }
        self.next_event().map(|(tick, _)| self.instant_of(tick))
    }

    /// Removes and returns one timer due at or before `now`, or `None` when none is left.
    ///
    /// Call repeatedly until `None`: timers come out in order of due tick (timers due in the
    /// same tick in no particular order; timers armed with a deadline already past come out
    /// first). Timers may be armed or cancelled between calls. Time never moves backwards:
    /// a `now` earlier than a previous one only hands out what is already due.
    pub fn poll_expired(&mut self, now: Instant) -> Option<(TimerHandle, T)> {
        let target = self.now_tick(now);
        loop {
            if let Some(index) = self.slab.pop_front(READY) {
                return self.slab.free(index);
            }
            if !self.step(target) {
                return None;
            }
        }
    }

    /// Calls `on_expiry` with every timer due at or before `now`, in the order of
    /// [`poll_expired`](Self::poll_expired).
    pub fn advance(&mut self, now: Instant, mut on_expiry: impl FnMut(TimerHandle, T)) {
        while let Some((handle, value)) = self.poll_expired(now) {
            on_expiry(handle, value);
        }
    }

    /// Processes the next event if it is due by tick `target` and returns `true`; otherwise
    /// moves the current tick to `target` and returns `false`.
    fn step(&mut self, target: u64) -> bool {
        match self.next_event() {
            Some((tick, event)) if tick <= target => {
                self.elapsed = tick;
                self.fire(event);
                true
            }
            _ => {
                self.elapsed = self.elapsed.max(target);
                false
            }
        }
    }

    /// Empties the event's list and re-places its timers relative to the current tick:
    /// due ones go to the ready list, the others to a lower level (or back to overflow).
    fn fire(&mut self, event: Event) {
        let list = match event {
            Event::Slot { level, slot } => {
                self.clear_bit(level, slot);
                slot_list(level, slot)
            }
            Event::Overflow => {
                self.overflow_min = u64::MAX;
                OVERFLOW
            }
        };
        let mut cursor = self.slab.take_chain(list);
        while let Some(index) = cursor {
            cursor = self.slab.detach(index);
            self.place(index);
        }
    }

    /// The first tick at which something happens, and what.
    ///
    /// Invariant: an occupied slot of level `l` lies after the current tick's slot of level
    /// `l`, in the same span of level `l + 1`; so the lowest occupied slot of the lowest
    /// non-empty level comes first, and every overflow timer comes after every wheel timer.
    fn next_event(&self) -> Option<(u64, Event)> {
        for (level, &bits) in self.occupied.iter().enumerate() {
            if bits != 0 {
                let slot = bits.trailing_zeros() as usize;
                let shift = SLOT_BITS * level as u32;
                let span_start = self.elapsed & !(span(level + 1) - 1);
                let tick = span_start | ((slot as u64) << shift);
                return Some((tick, Event::Slot { level, slot }));
            }
        }
        if self.slab.is_empty(OVERFLOW) {
            return None;
        }
        let top_span_start = self.overflow_min & !(span(LEVELS) - 1);
        Some((top_span_start.max(self.elapsed.saturating_add(1)), Event::Overflow))
    }

    /// Links an unlinked timer into the list its due tick calls for.
    fn place(&mut self, index: usize) {
        let Some(expiry) = self.slab.expiry(index) else { return };
        let list = if expiry <= self.elapsed {
            READY
        } else {
            match level_for(self.elapsed, expiry) {
                level if level < LEVELS => {
                    let slot = slot_of(expiry, level);
                    self.set_bit(level, slot);
                    slot_list(level, slot)
                }
                _ => {
                    self.overflow_min = self.overflow_min.min(expiry);
                    OVERFLOW
                }
            }
        };
        self.slab.push_back(list, index);
    }

    /// Unlinks a timer from its list, keeping the bitmaps and the overflow bound in step.
    fn unlink(&mut self, index: usize) {
        let Some(list) = self.slab.unlink(index) else { return };
        if !self.slab.is_empty(list) {
            return;
        }
        if list == OVERFLOW {
            self.overflow_min = u64::MAX;
        } else if list != READY {
            self.clear_bit(list.0 / SLOTS, list.0 % SLOTS);
        }
    }

    fn set_bit(&mut self, level: usize, slot: usize) {
        if let Some(bits) = self.occupied.get_mut(level) {
            *bits |= 1 << slot;
        }
    }

    fn clear_bit(&mut self, level: usize, slot: usize) {
        if let Some(bits) = self.occupied.get_mut(level) {
            *bits &= !(1 << slot);
        }
    }

    /// The tick a deadline falls due in: rounded up, so that no timer fires early.
    fn expiry_tick(&self, deadline: Instant) -> u64 {
        deadline.saturating_duration_since(self.origin).total_micros().div_ceil(self.tick_micros)
    }

    /// The tick `now` falls in: rounded down.
    fn now_tick(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.origin).total_micros() / self.tick_micros
    }

    fn instant_of(&self, tick: u64) -> Instant {
        self.origin + Duration::from_micros(tick.saturating_mul(self.tick_micros))
    }
}

/// Ticks spanned by one slot of `level` (for `level < LEVELS`) or by the whole of level
/// `level - 1`: `64^level`.
const fn span(level: usize) -> u64 {
    1 << (SLOT_BITS as usize * level)
}

/// The level for a timer due at `expiry > elapsed`: that of the highest bit in which the two
/// differ. `LEVELS` or more means overflow.
fn level_for(elapsed: u64, expiry: u64) -> usize {
    let differing = (elapsed ^ expiry) | (SLOTS as u64 - 1);
    let highest_bit = u64::BITS - 1 - differing.leading_zeros();
    (highest_bit / SLOT_BITS) as usize
}

/// The slot of `expiry` at `level`.
fn slot_of(expiry: u64, level: usize) -> usize {
    ((expiry >> (SLOT_BITS as usize * level)) & (SLOTS as u64 - 1)) as usize
}

fn slot_list(level: usize, slot: usize) -> ListId {
    ListId(level * SLOTS + slot)
}

impl<T> fmt::Debug for TimerWheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerWheel")
            .field("timers", &self.len())
            .field("tick", &self.tick())
            .field("now", &self.instant_of(self.elapsed))
            .finish_non_exhaustive()
    }
}
