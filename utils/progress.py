"""A one-line-per-epoch training log, so that a long cell shows it is working.

    model.fit(x, y, epochs=10, validation_data=(x_val, y_val), verbose=0,
              callbacks=[utils.EpochLog("with BN")])
    # with BN · epoch  1/10 · 2.1 s · loss 0.812 · val_loss 0.611 · val_accuracy 0.781

Keras' own ``verbose=1`` bar redraws itself with carriage returns, which fills saved notebooks with
hundreds of lines; this prints one short line per epoch and nothing else.
"""
from __future__ import annotations

import time

import keras


class EpochLog(keras.callbacks.Callback):
    """Print the epoch, its seconds and its logged metrics when each epoch ends."""

    def __init__(self, label: str = "", every: int = 1):
        super().__init__()
        self.label, self.every = label, max(1, int(every))
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        total = self.params.get("epochs") if self.params else None
        last = total is not None and epoch + 1 == total
        if (epoch + 1) % self.every and not last:
            return
        width = len(str(total)) if total else 1
        parts = [self.label] if self.label else []
        parts.append(f"epoch {epoch + 1:{width}d}/{total}" if total else f"epoch {epoch + 1}")
        parts.append(f"{time.perf_counter() - self._start:.1f} s")
        parts += [f"{name} {value:.4f}" for name, value in (logs or {}).items()
                  if isinstance(value, (int, float)) and name != "learning_rate"]
        print(" · ".join(parts), flush=True)
