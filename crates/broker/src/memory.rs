//! The in-memory broker: the transport of an embedded run, between threads of one process.

use crate::{
    BrokerError, ConsumerLink, ConsumerSession, ControlLink, CoordinatorLink, Delivery, Incoming,
    Polled, ProducerLink,
};
use crossbeam_channel::{Receiver, Sender, TryRecvError, unbounded};
use mcp_protocol::{
    ConsumerStatus, ControlCommand, JobAnnouncement, JobId, JobModel, ProducerStatus, ResultBatch,
    ScenarioRun, StopCause,
};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long the coordinator sleeps between polls of an empty stream. Polling rather than
/// blocking: a blocked receiver would cost every sender a wake-up call.
const POLL: Duration = Duration::from_millis(2);

/// The transport of one embedded job: a bounded queue of runs of batches, the current model, one
/// stream of everything the coordinator reads, and one of control commands. A cheap handle:
/// clones share the same queues.
///
/// Acknowledgements are no-ops: nothing in one process can lose a message that was handed over.
#[derive(Debug, Clone)]
pub struct InMemoryBroker {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    model: Mutex<Option<Arc<JobModel>>>,
    batches: Mutex<BatchQueue>,
    batch_ready: Condvar,
    room_ready: Condvar,
    capacity: usize,
    incoming: (Sender<Incoming>, Receiver<Incoming>),
    commands: (Sender<ControlCommand>, Receiver<ControlCommand>),
    tags: AtomicU64,
}

/// The queue of runs. A full queue blocks the producer until consumers have taken half of it, so
/// the producer wakes once per half queue rather than once per run.
#[derive(Debug, Default)]
struct BatchQueue {
    /// The job of the batches published now.
    job: JobId,
    queue: VecDeque<(JobId, ScenarioRun)>,
    finished: bool,
    producer_waiting: bool,
    consumers_waiting: usize,
}

impl InMemoryBroker {
    /// A broker whose queue holds at most `capacity` runs of batches.
    pub fn new(capacity: usize) -> InMemoryBroker {
        InMemoryBroker {
            shared: Arc::new(Shared {
                model: Mutex::default(),
                batches: Mutex::default(),
                batch_ready: Condvar::new(),
                room_ready: Condvar::new(),
                capacity: capacity.max(1),
                incoming: unbounded(),
                commands: unbounded(),
                tags: AtomicU64::new(0),
            }),
        }
    }

    /// Closes the batch queue: consumers finish, a blocked producer returns.
    pub fn shut_down(&self) {
        let _ = self.finish();
    }

    /// Throws away every queued run (a cancelled or timed-out job); returns how many.
    pub fn discard_batches(&self) -> usize {
        let mut q = self.batches();
        let n = q.queue.len();
        q.queue.clear();
        self.shared.room_ready.notify_all();
        n
    }

    /// Whether everything sent to the coordinator has been read.
    pub fn is_idle(&self) -> bool {
        self.shared.incoming.1.is_empty()
    }

    /// How many messages wait for the coordinator.
    pub fn waiting(&self) -> usize {
        self.shared.incoming.1.len()
    }

    fn batches(&self) -> std::sync::MutexGuard<'_, BatchQueue> {
        self.shared.batches.lock().expect("batch lock")
    }

    fn model(&self) -> std::sync::MutexGuard<'_, Option<Arc<JobModel>>> {
        self.shared.model.lock().expect("model lock")
    }

    fn tag(&self) -> u64 {
        self.shared.tags.fetch_add(1, Ordering::Relaxed)
    }

    fn deliver(&self, message: Incoming) -> Result<(), BrokerError> {
        self.shared
            .incoming
            .0
            .send(message)
            .map_err(|_| BrokerError::Closed)
    }
}

impl ProducerLink for InMemoryBroker {
    fn announce(&self, job: &JobAnnouncement) -> Result<(), BrokerError> {
        let delivery = Delivery {
            job: job.job.clone(),
            body: job.clone(),
            tag: self.tag(),
            redelivered: false,
        };
        self.deliver(Incoming::Job(Box::new(delivery)))
    }

    fn publish_model(&self, model: Arc<JobModel>) -> Result<(), BrokerError> {
        self.batches().job = model.job.clone();
        *self.model() = Some(model);
        Ok(())
    }

    fn publish_run(&self, run: ScenarioRun) -> Result<(), BrokerError> {
        let mut q = self.batches();
        while q.queue.len() >= self.shared.capacity && !q.finished {
            q.producer_waiting = true;
            q = self.shared.room_ready.wait(q).expect("batch lock");
        }
        q.producer_waiting = false;
        if q.finished {
            return Err(BrokerError::Closed);
        }
        let job = q.job.clone();
        q.queue.push_back((job, run));
        if q.consumers_waiting > 0 {
            self.shared.batch_ready.notify_one();
        }
        Ok(())
    }

    fn finish(&self) -> Result<(), BrokerError> {
        self.batches().finished = true;
        self.shared.batch_ready.notify_all();
        self.shared.room_ready.notify_all();
        Ok(())
    }

    fn report(&self, status: &ProducerStatus) -> Result<(), BrokerError> {
        self.deliver(Incoming::Producer(status.clone()))
    }
}

impl ConsumerLink for InMemoryBroker {
    fn current_model(&self) -> Result<Option<Arc<JobModel>>, BrokerError> {
        Ok(self.model().clone())
    }

    fn next_run(&self, wait: Duration) -> Result<Polled<ScenarioRun>, BrokerError> {
        let mut q = self.batches();
        if q.queue.is_empty() && !q.finished {
            q.consumers_waiting += 1;
            q = self
                .shared
                .batch_ready
                .wait_timeout_while(q, wait, |q| q.queue.is_empty() && !q.finished)
                .expect("batch lock")
                .0;
            q.consumers_waiting -= 1;
        }
        match q.queue.pop_front() {
            Some((job, body)) => {
                if q.producer_waiting && q.queue.len() <= self.shared.capacity / 2 {
                    self.shared.room_ready.notify_one();
                }
                drop(q);
                Ok(Polled::Ready(Delivery {
                    job,
                    body,
                    tag: self.tag(),
                    redelivered: false,
                }))
            }
            None if q.finished => Ok(Polled::Finished),
            None => Ok(Polled::Empty),
        }
    }

    fn publish_results(&self, job: &str, results: Vec<ResultBatch>) -> Result<(), BrokerError> {
        self.deliver(Incoming::Results(Delivery {
            job: job.to_string(),
            body: results,
            tag: self.tag(),
            redelivered: false,
        }))
    }

    fn ack_run(&self, _tag: u64) -> Result<(), BrokerError> {
        Ok(())
    }

    fn release_run(&self, job: &str, run: ScenarioRun, _tag: u64) -> Result<(), BrokerError> {
        // Back at the head of the queue (one past its capacity at most: it was taken from it).
        self.batches().queue.push_front((job.to_string(), run));
        self.shared.batch_ready.notify_one();
        Ok(())
    }
}

impl ConsumerSession for InMemoryBroker {
    fn link(&self, _name: &str) -> Result<Box<dyn ConsumerLink>, BrokerError> {
        Ok(Box::new(self.clone()))
    }

    fn next_command(&self, wait: Duration) -> Result<Option<ControlCommand>, BrokerError> {
        match self.shared.commands.1.recv_timeout(wait) {
            Ok(command) => Ok(Some(command)),
            Err(_) => Ok(None),
        }
    }

    fn send_status(&self, status: &ConsumerStatus) -> Result<(), BrokerError> {
        self.deliver(Incoming::Consumer(status.clone()))
    }
}

impl ControlLink for InMemoryBroker {
    fn send(&self, command: &ControlCommand) -> Result<(), BrokerError> {
        self.shared
            .commands
            .0
            .send(command.clone())
            .map_err(|_| BrokerError::Closed)
    }

    fn cancel(&self, job: &str) -> Result<(), BrokerError> {
        {
            let mut model = self.model();
            if model.as_ref().is_some_and(|m| m.job == job) {
                *model = None;
            }
        }
        self.send(&ControlCommand::stop(job, StopCause::Cancelled))
    }
}

impl CoordinatorLink for InMemoryBroker {
    fn next(&self, wait: Duration) -> Result<Option<Incoming>, BrokerError> {
        let deadline = Instant::now() + wait;
        loop {
            match self.shared.incoming.1.try_recv() {
                Ok(message) => return Ok(Some(message)),
                Err(TryRecvError::Disconnected) => return Err(BrokerError::Closed),
                Err(TryRecvError::Empty) => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            std::thread::sleep(left.min(POLL));
        }
    }

    fn ack(&self, _tag: u64) -> Result<(), BrokerError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_protocol::{ControlAction, ScenarioBatch};

    fn batch(index: u64) -> ScenarioRun {
        ScenarioBatch {
            index,
            start: index * 10,
            count: 10,
        }
        .into()
    }

    fn body(p: Polled<ScenarioRun>) -> Option<ScenarioRun> {
        match p {
            Polled::Ready(d) => Some(d.body),
            _ => None,
        }
    }

    #[test]
    fn batches_flow_in_order_and_end_when_finished() {
        let broker = InMemoryBroker::new(4);
        broker.publish_run(batch(0)).unwrap();
        broker.publish_run(batch(1)).unwrap();
        broker.finish().unwrap();
        let wait = Duration::from_secs(1);
        assert_eq!(body(broker.next_run(wait).unwrap()), Some(batch(0)));
        assert_eq!(body(broker.next_run(wait).unwrap()), Some(batch(1)));
        assert_eq!(broker.next_run(wait).unwrap(), Polled::Finished);
        assert_eq!(broker.publish_run(batch(2)), Err(BrokerError::Closed));
    }

    #[test]
    fn a_full_queue_blocks_the_producer_until_a_consumer_takes_a_batch() {
        let broker = InMemoryBroker::new(1);
        broker.publish_run(batch(0)).unwrap();
        let producer = {
            let broker = broker.clone();
            std::thread::spawn(move || broker.publish_run(batch(1)))
        };
        // The second publish can only complete once the first batch has been taken.
        let wait = Duration::from_secs(5);
        assert_eq!(body(broker.next_run(wait).unwrap()), Some(batch(0)));
        producer.join().unwrap().unwrap();
        assert_eq!(body(broker.next_run(wait).unwrap()), Some(batch(1)));
    }

    #[test]
    fn shutting_down_releases_a_blocked_producer() {
        let broker = InMemoryBroker::new(1);
        broker.publish_run(batch(0)).unwrap();
        let producer = {
            let broker = broker.clone();
            std::thread::spawn(move || broker.publish_run(batch(1)))
        };
        broker.shut_down();
        assert_eq!(producer.join().unwrap(), Err(BrokerError::Closed));
        assert!(broker.current_model().unwrap().is_none());
    }

    #[test]
    fn the_coordinator_reads_announcements_results_and_heartbeats_in_order() {
        let broker = InMemoryBroker::new(1);
        let wait = Duration::from_millis(10);
        assert_eq!(broker.next(wait).unwrap(), None);
        let result = ResultBatch {
            batch: batch(0).batches().next().unwrap(),
            moments: vec![],
            values: vec![],
            failures: vec![],
            eval_seconds: 0.0,
            sobol: Vec::new(),
            kept: vec![],
            tornado: None,
            sketches: Vec::new(),
        };
        broker.publish_results("j", vec![result.clone()]).unwrap();
        match broker.next(wait).unwrap() {
            Some(Incoming::Results(d)) => {
                assert_eq!((d.job.as_str(), d.body), ("j", vec![result]));
            }
            other => panic!("{other:?}"),
        }
        let pause = ControlCommand::to(ControlAction::Pause, None);
        broker.send(&pause).unwrap();
        assert_eq!(broker.next_command(wait).unwrap(), Some(pause));
        assert_eq!(broker.next_command(wait).unwrap(), None);
    }
}
