//! Cellproof registry server (library).
