(function(){
var t=document.getElementById('answers-table');if(!t||!t.tBodies.length)return;
var rows=Array.prototype.slice.call(t.tBodies[0].rows);
function g(id){return document.getElementById(id);}
var q=g('f-q'),fm=g('f-model'),fs=g('f-suite'),fl=g('f-label'),fg=g('f-lang'),cnt=g('f-count');
var txt=null,timer=0;
function apply(){
var s=q.value.trim().toLowerCase(),m=fm.value,su=fs.value,l=fl.value,la=fg.value,shown=0;
if(s&&!txt){txt=rows.map(function(r){return r.textContent.toLowerCase();});}
for(var i=0;i<rows.length;i++){var r=rows[i],d=r.dataset;
var ok=(!m||d.m===m)&&(!su||d.s===su)&&(!l||d.l===l)&&(!la||d.g===la)&&(!s||txt[i].indexOf(s)>=0);
r.hidden=!ok;if(ok)shown++;}
cnt.textContent=shown+' of '+rows.length+' answers shown';
}
q.addEventListener('input',function(){clearTimeout(timer);timer=setTimeout(apply,150);});
[fm,fs,fl,fg].forEach(function(e){e.addEventListener('change',apply);});
apply();
})();
