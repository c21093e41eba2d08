"""Pinhole cameras (OpenCV convention: x right, y down, z forward): orbits and NeRF
``transforms.json`` files."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

__all__ = ["Camera", "orbit_cameras", "cameras_from_transforms", "look_at"]


@dataclass(frozen=True)
class Camera:
    """World-to-camera transform and intrinsics of one view."""

    world_to_cam: torch.Tensor  # (4, 4) float32
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    near: float = 0.01

    @property
    def center(self) -> torch.Tensor:
        """The camera centre in world coordinates."""
        r, t = self.world_to_cam[:3, :3], self.world_to_cam[:3, 3]
        return -r.T @ t

    def resized(self, width: int, height: int) -> Camera:
        sx, sy = width / self.width, height / self.height
        return Camera(self.world_to_cam, self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy,
                      width, height, self.near)


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """The 4x4 world-to-camera matrix of a camera at ``eye`` looking at ``target``."""
    forward = target - eye
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-9:  # looking along `up`: pick any perpendicular
        right = np.cross(forward, np.array([1.0, 0.0, 0.0]))
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rot = np.stack([right, down, forward])
    out = np.eye(4)
    out[:3, :3] = rot
    out[:3, 3] = -rot @ eye
    return out


def orbit_cameras(center, distance: float, num_views: int, *, width: int = 256,
                  height: int = 256, fov_deg: float = 50.0, elevations_deg=(15.0, 35.0, 55.0),
                  up=(0.0, 0.0, 1.0), phase: float = 0.0) -> list[Camera]:
    """``num_views`` cameras on rings around ``center``, cycling through ``elevations_deg``;
    azimuths are evenly spaced and shifted by ``phase`` (in steps; 0.5 puts views half-way
    between those of ``phase=0``, for held-out views)."""
    if num_views < 1:
        raise ValueError(f"num_views must be >= 1, got {num_views}")
    center = np.asarray(center, dtype=np.float64)
    up = np.asarray(up, dtype=np.float64)
    up /= np.linalg.norm(up)
    a = np.cross(up, [1.0, 0.0, 0.0])
    if np.linalg.norm(a) < 1e-6:
        a = np.cross(up, [0.0, 1.0, 0.0])
    a /= np.linalg.norm(a)
    b = np.cross(up, a)
    focal = 0.5 * width / math.tan(math.radians(fov_deg) / 2)
    cams = []
    for i in range(num_views):
        az = 2 * math.pi * (i + phase) / num_views
        el = math.radians(elevations_deg[i % len(elevations_deg)])
        direction = math.cos(el) * (math.cos(az) * a + math.sin(az) * b) + math.sin(el) * up
        w2c = look_at(center + distance * direction, center, up)
        cams.append(Camera(torch.tensor(w2c, dtype=torch.float32), focal, focal, width / 2,
                           height / 2, width, height))
    return cams


def cameras_from_transforms(path: str | os.PathLike[str], *, width: int | None = None,
                            height: int | None = None) -> list[Camera]:
    """Cameras of a NeRF-synthetic ``transforms_*.json`` (``camera_angle_x``, frames with
    camera-to-world ``transform_matrix`` in the OpenGL convention). Images are 800x800 unless
    ``width``/``height`` say otherwise."""
    path = Path(path)
    meta = json.loads(path.read_text())
    if "camera_angle_x" not in meta or "frames" not in meta:
        raise ValueError(f"{path}: needs 'camera_angle_x' and 'frames'")
    w = int(meta.get("w", width or 800))
    h = int(meta.get("h", height or 800))
    focal = 0.5 * w / math.tan(0.5 * float(meta["camera_angle_x"]))
    flip = np.diag([1.0, -1.0, -1.0, 1.0])  # OpenGL (y up, z back) -> OpenCV
    cams = []
    for i, frame in enumerate(meta["frames"]):
        c2w = np.asarray(frame.get("transform_matrix"), dtype=np.float64)
        if c2w.shape != (4, 4):
            raise ValueError(f"{path}: frame {i} has no 4x4 transform_matrix")
        w2c = np.linalg.inv(c2w @ flip)
        cam = Camera(torch.tensor(w2c, dtype=torch.float32), focal, focal, w / 2, h / 2, w, h)
        cams.append(cam.resized(width or w, height or h))
    return cams
