//! Process set-up shared by the `tolk` binary and the benchmark.

/// libtorch's OpenMP threads spin-wait by default; when another process holds a core, each of
/// the thousands of small ops per training step then waits for a time slice (measured here: a
/// step over 100x slower). OMP_WAIT_POLICY is read when libgomp loads, before `main`, so this
/// sets it to PASSIVE and re-executes the current program once, unless the caller chose a
/// policy. Call it first thing in `main`. On failure it warns and continues.
#[cfg(unix)]
pub fn ensure_passive_omp_wait() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("OMP_WAIT_POLICY").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .exec();
    eprintln!("warning: could not re-execute with OMP_WAIT_POLICY=PASSIVE: {err}");
}
