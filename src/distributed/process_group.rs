//! The c10d process group (Gloo or NCCL backend) of a data-parallel run: rendezvous over a
//! TCPStore, then all-reduce, broadcast and barrier on tensors, in place.

use std::ffi::{c_void, CString};
use std::time::Duration;

use tch::{Device, Tensor};
use torch_sys::C_tensor;

use super::{Backend, World};
use crate::error::Error;

extern "C" {
    fn tolk_pg_new(
        addr: *const std::ffi::c_char,
        port: i32,
        rank: i32,
        size: i32,
        timeout_ms: i64,
    ) -> *mut c_void;
    fn tolk_pg_new_nccl(
        addr: *const std::ffi::c_char,
        port: i32,
        rank: i32,
        size: i32,
        timeout_ms: i64,
        device_index: i32,
    ) -> *mut c_void;
    fn tolk_pg_free(group: *mut c_void);
    fn tolk_pg_allreduce_sum(group: *mut c_void, ts: *const *mut C_tensor, n: i64) -> bool;
    fn tolk_pg_broadcast(group: *mut c_void, ts: *const *mut C_tensor, n: i64, root: i32) -> bool;
    fn tolk_pg_barrier(group: *mut c_void) -> bool;
}

/// A joined process group: `size` processes that run the same collectives in the same order.
/// A collective whose peers do not all arrive within the timeout, or whose peer closed its
/// connection (a killed rank), fails with [`Error::Distributed`] instead of waiting forever.
#[derive(Debug)]
pub struct ProcessGroup {
    raw: *mut c_void,
    rank: usize,
    size: usize,
    /// NCCL's device: CPU tensors handed to a collective are copied there and back.
    staging: Option<Device>,
}

// SAFETY: c10d process groups may be used from any thread; tolk uses each from one at a time.
unsafe impl Send for ProcessGroup {}

impl ProcessGroup {
    /// Joins the group described by `world` on `backend`: rank 0 serves the rendezvous store
    /// at `master_addr:master_port` and every rank connects to it; returns when all `size`
    /// ranks have joined. `timeout` bounds the rendezvous and every later collective. NCCL
    /// binds this rank to `cuda:LOCAL_RANK`.
    ///
    /// Errors: [`Error::Distributed`] when the store cannot be served or reached, not every
    /// rank arrives in time, or NCCL is not built or has no such device.
    pub fn join(world: &World, backend: Backend, timeout: Duration) -> Result<Self, Error> {
        let addr = CString::new(world.master_addr.as_str())
            .map_err(|_| Error::Input("MASTER_ADDR contains a NUL byte".into()))?;
        let (port, rank, size) = (
            i32::from(world.master_port),
            world.rank as i32,
            world.size as i32,
        );
        let timeout_ms = timeout.as_millis().min(i64::MAX as u128) as i64;
        let local = world.local_rank as i32;
        // SAFETY: `addr` outlives the call; the shim copies it.
        let raw = unsafe {
            match backend {
                Backend::Gloo => tolk_pg_new(addr.as_ptr(), port, rank, size, timeout_ms),
                Backend::Nccl => {
                    tolk_pg_new_nccl(addr.as_ptr(), port, rank, size, timeout_ms, local)
                }
            }
        };
        if raw.is_null() {
            return Err(Error::Distributed(format!(
                "rank {} of {}: joining the {backend:?} process group at {}:{} failed: {}",
                world.rank,
                world.size,
                world.master_addr,
                world.master_port,
                crate::kernels::shim::last_error()
            )));
        }
        Ok(Self {
            raw,
            rank: world.rank,
            size: world.size,
            staging: (backend == Backend::Nccl).then_some(Device::Cuda(world.local_rank)),
        })
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Number of processes in the group.
    pub fn size(&self) -> usize {
        self.size
    }

    fn check(&self, ok: bool, what: &str) -> Result<(), Error> {
        if ok {
            return Ok(());
        }
        Err(Error::Distributed(format!(
            "rank {} of {}: {what} failed (a peer exited or did not answer in time): {}",
            self.rank,
            self.size,
            crate::kernels::shim::last_error()
        )))
    }

    /// Replaces each tensor by its element-wise sum over all ranks (one collective per
    /// tensor). The tensors must be dense, contiguous and of the same shape and kind on every
    /// rank.
    ///
    /// Errors: [`Error::Distributed`].
    pub fn all_reduce_sum(&self, tensors: &[Tensor]) -> Result<(), Error> {
        self.staged(tensors, |staged| {
            let ptrs: Vec<*mut C_tensor> = staged.iter().map(|t| t.as_ptr() as *mut _).collect();
            // SAFETY: live tensors for the duration of the call, modified in place by c10d.
            let ok = unsafe { tolk_pg_allreduce_sum(self.raw, ptrs.as_ptr(), ptrs.len() as i64) };
            self.check(ok, "all-reduce")
        })
    }

    /// Runs `collective` on `tensors`, or, for NCCL, on copies of them on its device (CPU
    /// tensors such as the schedule's scalars), copied back afterwards.
    fn staged(
        &self,
        tensors: &[Tensor],
        collective: impl FnOnce(&[Tensor]) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let Some(device) = self.staging else {
            return collective(tensors);
        };
        if tensors.iter().all(|t| t.device() == device) {
            return collective(tensors);
        }
        let copies: Vec<Tensor> = tensors.iter().map(|t| t.to_device(device)).collect();
        collective(&copies)?;
        for (t, c) in tensors.iter().zip(&copies) {
            let mut dst = t.shallow_clone();
            dst.copy_(c);
        }
        Ok(())
    }

    /// Overwrites each tensor on every rank with rank `root`'s copy.
    ///
    /// Errors: [`Error::Distributed`].
    pub fn broadcast(&self, tensors: &[Tensor], root: usize) -> Result<(), Error> {
        self.staged(tensors, |staged| {
            let ptrs: Vec<*mut C_tensor> = staged.iter().map(|t| t.as_ptr() as *mut _).collect();
            // SAFETY: as in `all_reduce_sum`.
            let ok = unsafe {
                tolk_pg_broadcast(self.raw, ptrs.as_ptr(), ptrs.len() as i64, root as i32)
            };
            self.check(ok, "broadcast")
        })
    }

    /// Returns when every rank has reached it.
    ///
    /// Errors: [`Error::Distributed`].
    pub fn barrier(&self) -> Result<(), Error> {
        // SAFETY: a live group.
        let ok = unsafe { tolk_pg_barrier(self.raw) };
        self.check(ok, "barrier")
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        // SAFETY: created by `tolk_pg_new`, freed once.
        unsafe { tolk_pg_free(self.raw) }
    }
}
