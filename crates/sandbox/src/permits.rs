//! A counting semaphore for threads: how the sandbox bounds concurrent compiles.

use std::sync::{Arc, Condvar, Mutex};

/// `n` permits shared by clones; [`Permits::acquire`] waits while none is free.
#[derive(Clone)]
pub(crate) struct Permits {
    inner: Arc<(Mutex<usize>, Condvar)>,
}

/// One permit, given back when dropped (on any thread).
pub(crate) struct Permit {
    inner: Arc<(Mutex<usize>, Condvar)>,
}

impl Permits {
    pub(crate) fn new(n: usize) -> Permits {
        Permits {
            inner: Arc::new((Mutex::new(n), Condvar::new())),
        }
    }

    /// Takes a permit, waiting for one to be given back if none is free.
    pub(crate) fn acquire(&self) -> Permit {
        let (free, returned) = &*self.inner;
        let mut free = returned
            .wait_while(free.lock().expect("permits lock"), |n| *n == 0)
            .expect("permits lock");
        *free -= 1;
        Permit {
            inner: self.inner.clone(),
        }
    }

    #[cfg(test)]
    fn free(&self) -> usize {
        *self.inner.0.lock().expect("permits lock")
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let (free, returned) = &*self.inner;
        *free.lock().expect("permits lock") += 1;
        returned.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn a_third_taker_waits_until_one_of_two_permits_comes_back() {
        let permits = Permits::new(2);
        let a = permits.acquire();
        let _b = permits.acquire();
        assert_eq!(permits.free(), 0);
        let (took, taken) = mpsc::channel();
        let waiting = permits.clone();
        let third = std::thread::spawn(move || {
            let permit = waiting.acquire();
            took.send(()).unwrap();
            permit
        });
        // The third taker is blocked: nothing arrives while both permits are held.
        assert_eq!(
            taken.recv_timeout(Duration::from_millis(50)),
            Err(mpsc::RecvTimeoutError::Timeout)
        );
        drop(a);
        taken
            .recv()
            .expect("the third taker gets the returned permit");
        let c = third.join().unwrap();
        assert_eq!(permits.free(), 0);
        drop(c);
        assert_eq!(permits.free(), 1);
    }
}
