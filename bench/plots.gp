# Plots of scripts/bench, drawn from the data files bench/report.py writes.
# gnuplot -e "dir='DIR'; sizes='64 1024 16384'; hsnames='...'" bench/plots.gp
#   DIR/echo-SIZE.dat  connections, msgs/s vanilla hardened node, server CPU
#                      us/msg vanilla hardened node (NaN: not measured)
#   DIR/handshakes.dat mode label, capacity per server CPU-s vanilla hardened
#                      nginx, handshakes/s vanilla hardened nginx
set terminal pngcairo size 1200,420 font ",10" noenhanced
set datafile missing "NaN"
set key top left box opaque
set grid
n = words(sizes)

if (n > 0) {
set output dir."/echo-throughput.png"
set multiplot layout 1, n title "wss echo: messages/s vs connections (median, bars min-max; window 1)"
do for [i=1:n] {
	s = word(sizes, i)
	set title s." B messages"
	set logscale x
	set xlabel "connections"
	set ylabel "messages/s"
	set yrange [0:*]
	f = dir."/echo-".s.".dat"
	plot f u 1:2:3:4 w yerrorlines lw 2 t "vanilla", \
	     f u 1:5:6:7 w yerrorlines lw 2 t "hardened", \
	     f u 1:8:9:10 w yerrorlines lw 2 dt 2 t "node ws"
}
unset multiplot

set output dir."/echo-server-cpu.png"
set multiplot layout 1, n title "wss echo: server CPU us per message vs connections (median, min-max)"
do for [i=1:n] {
	s = word(sizes, i)
	set title s." B messages"
	set logscale x
	set xlabel "connections"
	set ylabel "server CPU us / message"
	set yrange [0:*]
	f = dir."/echo-".s.".dat"
	plot f u 1:11:12:13 w yerrorlines lw 2 t "vanilla", \
	     f u 1:14:15:16 w yerrorlines lw 2 t "hardened", \
	     f u 1:17:18:19 w yerrorlines lw 2 dt 2 t "node ws"
}
unset multiplot
}

if (hs) {
	unset logscale x
	set output dir."/handshakes.png"
	set multiplot layout 1, 2 title "handshakes (openssl s_time -www /, server on one core)"
	set style data histogram
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set boxwidth 0.9
	set xlabel ""
	set xtics rotate by 0
	set key top left
	set yrange [0:*]
	set title "capacity: handshakes per server CPU-second"
	set ylabel "handshakes / server CPU-s"
	f = dir."/handshakes.dat"
	plot f u 2:xtic(1) t "vanilla", "" u 3 t "hardened", "" u 4 t "nginx"
	set title "handshakes/s (wall; s_time on the other core)"
	set ylabel "handshakes / s"
	plot f u 5:xtic(1) t "vanilla", "" u 6 t "hardened", "" u 7 t "nginx"
	unset multiplot
}
