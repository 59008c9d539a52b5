//! The place of this process in a data-parallel run, from the environment variables that
//! `torchrun` sets (and that Slurm or `mpirun` wrappers set the same way): `RANK`,
//! `WORLD_SIZE`, `LOCAL_RANK`, `MASTER_ADDR`, `MASTER_PORT`.

use crate::error::Error;

/// `torchrun`'s default rendezvous port.
pub const DEFAULT_MASTER_PORT: u16 = 29500;

/// One process of a data-parallel run of `size` processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct World {
    /// This process's rank, `0..size`; rank 0 validates, checkpoints and logs.
    pub rank: usize,
    /// Number of processes.
    pub size: usize,
    /// Rank among the processes of this machine (picks the GPU: `cuda:LOCAL_RANK`).
    pub local_rank: usize,
    /// Host of rank 0, which serves the rendezvous store.
    pub master_addr: String,
    /// Port of the rendezvous store on `master_addr`.
    pub master_port: u16,
}

impl World {
    /// The single-process "world" of an ordinary run.
    pub fn single() -> Self {
        Self {
            rank: 0,
            size: 1,
            local_rank: 0,
            master_addr: "127.0.0.1".into(),
            master_port: DEFAULT_MASTER_PORT,
        }
    }

    /// Reads the world from `var` (the process environment in [`World::from_env`]).
    /// `WORLD_SIZE` unset means a single process. With `WORLD_SIZE` set, `RANK` is required;
    /// `LOCAL_RANK` defaults to `RANK`, `MASTER_ADDR` to 127.0.0.1 and `MASTER_PORT` to
    /// 29500, as in `torchrun`.
    ///
    /// Errors: [`Error::Input`] naming the variable that is missing, not a number, or out of
    /// range.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let Some(size) = var("WORLD_SIZE") else {
            return Ok(Self::single());
        };
        let number = |name: &str, text: &str| {
            text.trim().parse::<usize>().map_err(|_| {
                Error::Input(format!(
                    "environment variable {name}={text:?} is not a number"
                ))
            })
        };
        let size = number("WORLD_SIZE", &size)?;
        let rank = match var("RANK") {
            Some(r) => number("RANK", &r)?,
            None => {
                return Err(Error::Input(
                    "WORLD_SIZE is set but RANK is not: launch with torchrun, or set RANK for each process".into(),
                ))
            }
        };
        if size == 0 || rank >= size {
            return Err(Error::Input(format!(
                "RANK={rank} is out of range for WORLD_SIZE={size}"
            )));
        }
        let local_rank = match var("LOCAL_RANK") {
            Some(r) => number("LOCAL_RANK", &r)?,
            None => rank,
        };
        let master_port = match var("MASTER_PORT") {
            Some(p) => p
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| Error::Input(format!("MASTER_PORT={p:?} is not a port")))?,
            None => DEFAULT_MASTER_PORT,
        };
        Ok(Self {
            rank,
            size,
            local_rank,
            master_addr: var("MASTER_ADDR").unwrap_or_else(|| "127.0.0.1".into()),
            master_port,
        })
    }

    /// [`World::from_vars`] over the process environment.
    ///
    /// Errors: as [`World::from_vars`].
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Whether this is rank 0 (the one that writes the model directory).
    pub fn is_main(&self) -> bool {
        self.rank == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn world(vars: &[(&str, &str)]) -> Result<World, Error> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        World::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn torchrun_variables_are_read_with_its_defaults() {
        assert_eq!(world(&[]).unwrap(), World::single());
        let w = world(&[("WORLD_SIZE", "4"), ("RANK", "3")]).unwrap();
        assert_eq!((w.rank, w.size, w.local_rank), (3, 4, 3));
        assert_eq!(
            (w.master_addr.as_str(), w.master_port),
            ("127.0.0.1", 29500)
        );
        let w = world(&[
            ("WORLD_SIZE", "2"),
            ("RANK", "1"),
            ("LOCAL_RANK", "0"),
            ("MASTER_ADDR", "node7"),
            ("MASTER_PORT", "1234"),
        ])
        .unwrap();
        assert_eq!(
            (w.local_rank, w.master_addr.as_str(), w.master_port),
            (0, "node7", 1234)
        );
        assert!(!w.is_main());
    }

    #[test]
    fn bad_variables_are_errors_naming_them() {
        let err = |v: &[(&str, &str)]| world(v).unwrap_err().to_string();
        assert!(err(&[("WORLD_SIZE", "2")]).contains("RANK is not"));
        assert!(err(&[("WORLD_SIZE", "two"), ("RANK", "0")]).contains("WORLD_SIZE=\"two\""));
        assert!(err(&[("WORLD_SIZE", "2"), ("RANK", "2")]).contains("out of range"));
        assert!(
            err(&[("WORLD_SIZE", "2"), ("RANK", "0"), ("MASTER_PORT", "0")])
                .contains("MASTER_PORT")
        );
    }
}
