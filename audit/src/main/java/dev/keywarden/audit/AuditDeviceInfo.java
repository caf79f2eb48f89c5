package dev.keywarden.audit;

import java.time.Instant;

/** An enabled device: its settings, when it was enabled, and its state now. */
public record AuditDeviceInfo(AuditDeviceConfig config, Instant enabledAt, AuditHealth.DeviceHealth health) {}
