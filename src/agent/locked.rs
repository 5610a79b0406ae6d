//! Secret bytes in memory the OS may not swap out (where it allows), zeroed on drop.

use zeroize::Zeroize;

/// The most a locked buffer holds. It has a page of its own (16 KiB covers the 4 and
/// 16 KiB pages of the platforms spvault runs on), since unlocking a page shared with
/// another locked buffer would unlock that one too.
const CAPACITY: usize = 16 * 1024;

#[repr(C, align(16384))]
struct Page([u8; CAPACITY]);

pub struct LockedBytes {
    page: Box<Page>,
    len: usize,
    locked: bool,
}

impl LockedBytes {
    /// A copy of `bytes`; `None` when they do not fit.
    pub fn copy_of(bytes: &[u8]) -> Option<LockedBytes> {
        let mut locked = LockedBytes::zeroed(bytes.len())?;
        locked.as_mut().copy_from_slice(bytes);
        Some(locked)
    }

    /// `len` random bytes, drawn straight into the locked page.
    pub fn random(len: usize) -> Option<LockedBytes> {
        let mut locked = LockedBytes::zeroed(len)?;
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, locked.as_mut());
        Some(locked)
    }

    fn zeroed(len: usize) -> Option<LockedBytes> {
        if len > CAPACITY {
            return None;
        }
        let page = Box::new(Page([0; CAPACITY]));
        // SAFETY: the range is the boxed page, which lives as long as self.
        let locked = unsafe { libc::mlock(page.0.as_ptr().cast(), CAPACITY) } == 0;
        Some(LockedBytes { page, len, locked })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.page.0[..self.len]
    }

    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.page.0[..self.len]
    }
}

impl Drop for LockedBytes {
    fn drop(&mut self) {
        self.page.0.zeroize();
        if self.locked {
            // SAFETY: the same range mlock was given.
            unsafe { libc::munlock(self.page.0.as_ptr().cast(), CAPACITY) };
        }
    }
}
