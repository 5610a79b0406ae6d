//! A global allocator that can zero whatever is freed: the unlock agent switches it
//! on, so no buffer it lets go of (a request read, an answer written, a vault
//! parsed, a string grown by reallocation) keeps a copy of a secret. Other commands
//! never switch it on and pay nothing but one relaxed load per free.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

use zeroize::Zeroize;

static ZEROING: AtomicBool = AtomicBool::new(false);

/// The system allocator, zeroing freed memory once `zero_freed_memory` was called.
pub struct ZeroingAllocator;

/// From now on every block this process frees is zeroed first, and a reallocation
/// moves the block (zeroing the old one) rather than letting the system allocator
/// release it unzeroed.
pub fn zero_freed_memory() {
    ZEROING.store(true, Ordering::SeqCst);
}

fn zeroing() -> bool {
    ZEROING.load(Ordering::Relaxed)
}

// SAFETY: every call is passed on to `System` with the same layout; the zeroing
// writes only the `layout.size()` bytes of a block its caller owns and frees.
unsafe impl GlobalAlloc for ZeroingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if zeroing() {
            // SAFETY: `ptr` is a live block of `layout.size()` bytes, ours until freed;
            // zeroize's volatile writes are not optimized away before the free.
            unsafe { std::slice::from_raw_parts_mut(ptr, layout.size()) }.zeroize();
        }
        // SAFETY: as for `alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !zeroing() {
            // SAFETY: as for `alloc`.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: the caller guarantees `new_size`, rounded up to `layout.align()`, does
        // not overflow; `new` and `ptr` are distinct live blocks, each at least as long
        // as what is copied.
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let new = self.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}
