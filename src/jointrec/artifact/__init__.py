"""The artifact: one self-contained directory per trained model, written atomically."""

from jointrec.artifact.directory import Artifact, load_artifact, save_artifact

__all__ = ["Artifact", "load_artifact", "save_artifact"]
