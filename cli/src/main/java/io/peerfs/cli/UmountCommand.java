package io.peerfs.cli;

import io.peerfs.daemon.Fusermount;
import io.peerfs.daemon.MountException;
import io.peerfs.daemon.fuse.MountTable;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code peerfs umount MOUNTPOINT}: unmounts and waits for the daemon to close its cache. */
@Command(name = "umount", aliases = "unmount", mixinStandardHelpOptions = true,
        description = "Unmount a PeerFS mount and wait until its daemon has closed its cache.")
public final class UmountCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MOUNTPOINT")
    Path mountpoint;

    @Option(names = {"-z", "--lazy"}, description = "Detach now even if files are open (as umount -l).")
    boolean lazy;

    @Override
    public Integer call() throws Exception {
        Path mnt = mountpoint.toAbsolutePath().normalize();
        Optional<MountTable.Mount> m = MountTable.find(mnt);
        if (m.isPresent() && io.peerfs.daemon.MountGuard.isGuard(m.get())) {
            io.peerfs.daemon.MountGuard.remove(mnt); // its daemon died: the read-only guard it left goes
            if (io.peerfs.daemon.MountGuard.guardedOnly(mnt)) {
                throw new MountException("cannot remove the read-only guard at " + mnt + " (umount " + mnt + ")");
            }
            return 0;
        }
        if (m.isEmpty() || !m.get().isPeerFs()) {
            throw new MountException(mnt + " is not a PeerFS mount" + m.map(x -> " (it is " + x.fsType() + ")").orElse(""));
        }
        Optional<ProcessHandle> daemon = StatusCommand.daemonPid(mnt).flatMap(ProcessHandle::of);
        Fusermount.unmount(mnt, lazy);
        if (daemon.isPresent()) {
            try {
                daemon.get().onExit().get(30, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new MountException("unmounted " + mnt + ", but its daemon (pid " + daemon.get().pid()
                        + ") is still running after 30 s");
            }
        }
        io.peerfs.daemon.MountGuard.remove(mnt); // the daemon removes it itself; not one that was killed meanwhile
        io.peerfs.daemon.fuse.Handover.forget(mnt); // sockets a killed daemon or supervisor left
        return 0;
    }
}
