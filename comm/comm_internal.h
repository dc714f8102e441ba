/* comm_internal.h - what the files of comm/ share and nothing outside comm/ may see: the MPI
 * communicator behind a comm_t. */
#ifndef MICL_COMM_INTERNAL_H
#define MICL_COMM_INTERNAL_H

#include <mpi.h>

#include "comm.h"

/* The communicator a comm_t names (MPI_COMM_WORLD, or a group's). */
MPI_Comm comm_mpi(const comm_t *c);

#endif
