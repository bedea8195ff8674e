//! End to end: the real `lapse serve` binary on a real socket.
