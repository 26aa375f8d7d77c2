//! The in-memory broker: channels between threads of one process.

use crate::{BrokerError, ConsumerLink, CoordinatorLink, Delivery, Polled, ProducerLink};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use mcp_protocol::{JobModel, ResultBatch, ScenarioBatch};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Channels for one embedded job: a bounded batch queue and a results queue.
///
/// Acknowledgements are no-ops: nothing in one process can lose a message that was handed over.
#[derive(Debug)]
pub struct InMemoryBroker {
    model: Mutex<Option<Arc<JobModel>>>,
    batches: Mutex<BatchQueue>,
    batch_ready: Condvar,
    room_ready: Condvar,
    capacity: usize,
    results_tx: Sender<ResultBatch>,
    results_rx: Receiver<ResultBatch>,
    tags: AtomicU64,
}

/// The batch queue. A full queue blocks the producer until consumers have taken half of it, so
/// the producer wakes once per half queue rather than once per batch.
#[derive(Debug, Default)]
struct BatchQueue {
    queue: VecDeque<ScenarioBatch>,
    finished: bool,
    producer_waiting: bool,
    consumers_waiting: usize,
}

impl InMemoryBroker {
    /// A broker whose batch queue holds at most `capacity` batches.
    pub fn new(capacity: usize) -> Arc<InMemoryBroker> {
        let (results_tx, results_rx) = unbounded();
        Arc::new(InMemoryBroker {
            model: Mutex::default(),
            batches: Mutex::default(),
            batch_ready: Condvar::new(),
            room_ready: Condvar::new(),
            capacity: capacity.max(1),
            results_tx,
            results_rx,
            tags: AtomicU64::new(0),
        })
    }

    /// Closes the batch queue: consumers finish, a blocked producer returns.
    pub fn shut_down(&self) {
        let _ = self.finish();
    }

    fn job(&self) -> String {
        self.model
            .lock()
            .expect("model lock")
            .as_ref()
            .map(|m| m.job.clone())
            .unwrap_or_default()
    }

    /// Throws away every queued batch (a cancelled or timed-out job); returns how many.
    pub fn discard_batches(&self) -> usize {
        let mut q = self.batches.lock().expect("batch lock");
        let n = q.queue.len();
        q.queue.clear();
        self.room_ready.notify_all();
        n
    }

    fn tag(&self) -> u64 {
        self.tags.fetch_add(1, Ordering::Relaxed)
    }
}

impl ProducerLink for InMemoryBroker {
    fn publish_model(&self, model: Arc<JobModel>) -> Result<(), BrokerError> {
        *self.model.lock().expect("model lock") = Some(model);
        Ok(())
    }

    fn publish_batch(&self, batch: ScenarioBatch) -> Result<(), BrokerError> {
        let mut q = self.batches.lock().expect("batch lock");
        while q.queue.len() >= self.capacity && !q.finished {
            q.producer_waiting = true;
            q = self.room_ready.wait(q).expect("batch lock");
        }
        q.producer_waiting = false;
        if q.finished {
            return Err(BrokerError::Closed);
        }
        q.queue.push_back(batch);
        if q.consumers_waiting > 0 {
            self.batch_ready.notify_one();
        }
        Ok(())
    }

    fn finish(&self) -> Result<(), BrokerError> {
        self.batches.lock().expect("batch lock").finished = true;
        self.batch_ready.notify_all();
        self.room_ready.notify_all();
        Ok(())
    }
}

impl ConsumerLink for InMemoryBroker {
    fn current_model(&self) -> Result<Option<Arc<JobModel>>, BrokerError> {
        Ok(self.model.lock().expect("model lock").clone())
    }

    fn next_batch(&self, wait: Duration) -> Result<Polled<ScenarioBatch>, BrokerError> {
        let mut q = self.batches.lock().expect("batch lock");
        if q.queue.is_empty() && !q.finished {
            q.consumers_waiting += 1;
            q = self
                .batch_ready
                .wait_timeout_while(q, wait, |q| q.queue.is_empty() && !q.finished)
                .expect("batch lock")
                .0;
            q.consumers_waiting -= 1;
        }
        match q.queue.pop_front() {
            Some(body) => {
                if q.producer_waiting && q.queue.len() <= self.capacity / 2 {
                    self.room_ready.notify_one();
                }
                drop(q);
                Ok(Polled::Ready(Delivery {
                    job: self.job(),
                    body,
                    tag: self.tag(),
                    redelivered: false,
                }))
            }
            None if q.finished => Ok(Polled::Finished),
            None => Ok(Polled::Empty),
        }
    }

    fn publish_result(&self, _job: &str, result: ResultBatch) -> Result<(), BrokerError> {
        self.results_tx
            .send(result)
            .map_err(|_| BrokerError::Closed)
    }

    fn ack_batch(&self, _tag: u64) -> Result<(), BrokerError> {
        Ok(())
    }
}

impl CoordinatorLink for InMemoryBroker {
    fn next_result(&self, wait: Duration) -> Result<Option<Delivery<ResultBatch>>, BrokerError> {
        match self.results_rx.recv_timeout(wait) {
            Ok(body) => Ok(Some(Delivery {
                job: self.job(),
                body,
                tag: self.tag(),
                redelivered: false,
            })),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(BrokerError::Closed),
        }
    }

    fn ack_result(&self, _tag: u64) -> Result<(), BrokerError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(index: u64) -> ScenarioBatch {
        ScenarioBatch {
            index,
            start: index * 10,
            count: 10,
        }
    }

    #[test]
    fn batches_flow_in_order_and_end_when_finished() {
        let broker = InMemoryBroker::new(4);
        broker.publish_batch(batch(0)).unwrap();
        broker.publish_batch(batch(1)).unwrap();
        broker.finish().unwrap();
        let wait = Duration::from_secs(1);
        let body = |p: Polled<ScenarioBatch>| match p {
            Polled::Ready(d) => Some(d.body),
            _ => None,
        };
        assert_eq!(body(broker.next_batch(wait).unwrap()), Some(batch(0)));
        assert_eq!(body(broker.next_batch(wait).unwrap()), Some(batch(1)));
        assert_eq!(broker.next_batch(wait).unwrap(), Polled::Finished);
        assert_eq!(broker.publish_batch(batch(2)), Err(BrokerError::Closed));
    }

    #[test]
    fn a_full_queue_blocks_the_producer_until_a_consumer_takes_a_batch() {
        let broker = InMemoryBroker::new(1);
        broker.publish_batch(batch(0)).unwrap();
        let producer = {
            let broker = broker.clone();
            std::thread::spawn(move || broker.publish_batch(batch(1)))
        };
        // The second publish can only complete once the first batch has been taken.
        let wait = Duration::from_secs(5);
        let Polled::Ready(first) = broker.next_batch(wait).unwrap() else {
            panic!("the first batch is queued")
        };
        assert_eq!(first.body, batch(0));
        producer.join().unwrap().unwrap();
        let Polled::Ready(second) = broker.next_batch(wait).unwrap() else {
            panic!("the second batch was published")
        };
        assert_eq!(second.body, batch(1));
    }

    #[test]
    fn shutting_down_releases_a_blocked_producer() {
        let broker = InMemoryBroker::new(1);
        broker.publish_batch(batch(0)).unwrap();
        let producer = {
            let broker = broker.clone();
            std::thread::spawn(move || broker.publish_batch(batch(1)))
        };
        broker.shut_down();
        assert_eq!(producer.join().unwrap(), Err(BrokerError::Closed));
        assert!(broker.current_model().unwrap().is_none());
    }
}
