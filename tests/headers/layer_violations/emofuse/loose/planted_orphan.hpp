// Planted violation (never compiled): no row of the layer table holds loose/.
#pragma once
