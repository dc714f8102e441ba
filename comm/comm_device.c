/* comm_device.c - the device transport of a communicator (see comm.h): opened over MPI, closed
 * with the communicator.
 *
 * The backend's transport (kernels/backend.h, kern_transport_t; NCCL on the CUDA backend) moves
 * device buffers between the ranks' devices. Its bootstrap follows NCCL's: rank 0 makes a unique
 * id, MPI broadcasts it over the communicator, and every rank joins the group the id names with
 * its rank and the communicator's size. Every rank then agrees on the outcome (an MPI_Allreduce
 * of the lowest failing rank), so that a failure on one rank is a failure on every rank, and a
 * rank whose open succeeded closes its handle again: either all ranks hold a transport or none.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "comm_internal.h"
#include "common/error.h"
#include "kernels/backend.h"

/* 1 if the transport has every entry (a backend without one leaves them all NULL). */
static int transport_complete(const kern_transport_t *tp) {
    return tp->id_bytes > 0 && tp->id_bytes <= INT_MAX && tp->make_id && tp->open && tp->close &&
           tp->send && tp->recv && tp->allreduce_sum;
}

/* Rank 0 makes the id and broadcasts it; 0, or -1 on every rank (a message in err). */
static int share_id(const comm_t *c, const kern_transport_t *tp, void *id, char *err,
                    size_t errlen) {
    char why[512] = "";
    int ok = 1;
    if (c->rank == 0 && tp->make_id(id, why, sizeof why) != 0) ok = 0;
    MPI_CHECK(MPI_Bcast(&ok, 1, MPI_INT, 0, comm_mpi(c)));
    if (!ok) {
        snprintf(err, errlen, "device transport: rank 0 could not make the group's id%s%s",
                 why[0] ? ": " : "", why);
        return -1;
    }
    MPI_CHECK(MPI_Bcast(id, (int)tp->id_bytes, MPI_BYTE, 0, comm_mpi(c)));
    return 0;
}

int comm_device_open(comm_t *c, char *err, size_t errlen) {
    if (errlen > 0) err[0] = '\0';
    const kern_backend_t *b = kern_backend();
    const kern_transport_t *tp = &b->transport;
    if (c->transport || b->host_memory || c->size < 2 || !transport_complete(tp)) return 0;
    void *id = micl_calloc(1, tp->id_bytes);
    int rc = share_id(c, tp, id, err, errlen);
    if (rc == 0) {
        char why[512] = "";
        void *h = tp->open(id, c->rank, c->size, why, sizeof why);
        /* the lowest rank whose open failed (INT_MAX: none), the same on every rank */
        int mine = h ? INT_MAX : c->rank, first = INT_MAX;
        MPI_CHECK(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm_mpi(c)));
        if (first == INT_MAX) {
            c->transport = h;
        } else {
            if (h) tp->close(h);
            if (!h)
                snprintf(err, errlen, "device transport: rank %d could not open it%s%s", c->rank,
                         why[0] ? ": " : "", why);
            else
                snprintf(err, errlen, "device transport: rank %d could not open it", first);
            rc = -1;
        }
    }
    free(id);
    return rc;
}

void comm_device_close(comm_t *c) {
    if (!c->transport) return;
    kern_backend()->transport.close(c->transport);
    c->transport = NULL;
}
