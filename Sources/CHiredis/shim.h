#ifndef SYNCENGINE_CHIREDIS_SHIM_H
#define SYNCENGINE_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
